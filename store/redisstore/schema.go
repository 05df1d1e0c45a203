package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/caunoi/caunoi"
	"github.com/redis/go-redis/v9"
)

// schemaVersion names the layout of tickets and of their indexes that this
// version writes: 2 since the indexes of status (index.go). A version that
// changes that layout raises it.
//
// The key schema holds the version of the newest process that opened the
// store. Open raises it before it builds what its version adds, and the
// scripts that write tickets refuse to run when it holds another version
// than theirs (fence). So once a newer version has opened a store, an older
// process still running can no longer write a ticket, and with it leave an
// index that the newer one keeps out of date: its writes fail with a
// *caunoi.SchemaError, as does its Ping, so that its readiness check fails
// too. A process of a version before the key does not check it: the first
// Open of this version builds the indexes of status again (claimSchema),
// and OPERATING.md says to stop such processes first.
const schemaVersion = 2

// fence begins every script that writes tickets. KEYS[1] is the key
// schema and ARGV[1] the caller's schemaVersion; the script's own keys and
// arguments follow them. No key means no fence: a store that no process of
// this version has opened, as with New.
const fence = `
local schema = redis.call('GET', KEYS[1])
if schema and schema ~= ARGV[1] then
  return redis.error_reply('CAUNOI_SCHEMA ' .. schema)
end
`

// schemaErrPrefix begins the error a fenced script returns.
const schemaErrPrefix = "CAUNOI_SCHEMA"

// schemaArg is schemaVersion as a script argument, boxed once.
var schemaArg any = strconv.Itoa(schemaVersion)

// schemaError returns err, a script's reply, as a *caunoi.SchemaError when a
// fenced script refused to run, and else unchanged.
func schemaError(err error) error {
	if err == nil || !redis.HasErrorPrefix(err, schemaErrPrefix) {
		return err
	}
	found, ok := strings.CutPrefix(err.Error(), schemaErrPrefix+" ")
	if !ok {
		found = "?"
	}
	return &caunoi.SchemaError{Found: found, Want: schemaVersion}
}

// claimSchemaScript raises the key schema (KEYS[1]) to ARGV[1] unless it
// holds that version or a newer one, and returns the version it found (0
// when none). Raising it also deletes tix:indexed (KEYS[2]), in the same
// step, so that Open builds the indexes of status again: the processes of
// a version before the key could write tickets without keeping them, even
// after they were built, and no process can see the store as upgraded with
// the old indexes still marked complete. A value that is not a version is
// refused as the fence refuses another version (a *caunoi.SchemaError).
var claimSchemaScript = newScript(`
local v = redis.call('GET', KEYS[1])
local want = tonumber(ARGV[1])
local found = 0
if v then
  found = tonumber(v)
  if not found or found < 1 or found ~= math.floor(found) then
    return redis.error_reply('CAUNOI_SCHEMA ' .. v)
  end
end
if found < want then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
end
return found
`)

// claimSchema marks the store as written by this version, before Open
// builds what this version adds, or fails with a *caunoi.SchemaError when
// a newer version has opened the store.
func (s *Store) claimSchema(ctx context.Context) error {
	a := append(claimSchemaScript.args([]string{s.schemaKey, s.indexedKey}, 1), schemaArg)
	found, err := s.run(ctx, claimSchemaScript, a).Int64()
	if err != nil {
		return err
	}
	if found > schemaVersion {
		return &caunoi.SchemaError{Found: strconv.FormatInt(found, 10), Want: schemaVersion}
	}
	return nil
}

// checkSchema reports a *caunoi.SchemaError when the store holds another
// version than this one writes, and any error reaching Redis.
func (s *Store) checkSchema(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.schemaKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil // not claimed yet: a store made with New
	case err != nil:
		return err
	case v != schemaArg.(string):
		return &caunoi.SchemaError{Found: v, Want: schemaVersion}
	}
	return nil
}

// fencedArgs begins the argument list of EVALSHA of sc, a script that
// begins with fence, on keys: the key schema and this version come first.
func (s *Store) fencedArgs(sc script, keys []string, n int) []any {
	a := make([]any, 0, 5+len(keys)+n)
	a = append(a, "evalsha", sc.hash, len(keys)+1, s.schemaKeyArg)
	for _, k := range keys {
		a = append(a, k)
	}
	return append(a, schemaArg)
}
