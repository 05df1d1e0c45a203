package boltstore

import (
	"strconv"

	"github.com/caunoi/caunoi"
	bolt "go.etcd.io/bbolt"
)

// schemaVersion names the layout of the file that this version writes: 2
// since the indexes of status (ticket_open, ticket_done). A version that
// changes the layout raises it.
//
// The bucket meta holds it under "schema". Open refuses a file of a newer
// version with a *caunoi.SchemaError, so that going back to an older
// binary, or restoring a newer backup with one, cannot write to a file
// whose indexes the older version does not keep. A file without the key
// was last opened by a version before it, which may have written tickets
// without keeping the indexes of status: Open builds them again, once.
const schemaVersion = 2

var (
	bktMeta   = []byte("meta") // name → value: "schema"
	schemaKey = []byte("schema")
)

// CheckSchema returns the version of the file that tx reads (0 when it
// has none: a version before the key wrote it), or a *caunoi.SchemaError
// when a newer version of caunoi wrote it, or when it holds something that
// is not a version.
func CheckSchema(tx *bolt.Tx) (int, error) {
	b := tx.Bucket(bktMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(schemaKey)
	if v == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 || n > schemaVersion {
		return 0, &caunoi.SchemaError{Found: string(v), Want: schemaVersion}
	}
	return n, nil
}
