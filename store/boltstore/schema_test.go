package boltstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	bolt "go.etcd.io/bbolt"
)

// schemaOf returns what the file at path holds as its schema.
func schemaOf(tb testing.TB, path string) string {
	tb.Helper()
	var v string
	editFile(tb, path, func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("meta")); b != nil {
			v = string(b.Get([]byte("schema")))
		}
		return nil
	})
	return v
}

func setSchema(tb testing.TB, path, v string) {
	tb.Helper()
	editFile(tb, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("meta"))
		if err != nil {
			return err
		}
		if v == "" {
			return b.Delete([]byte("schema"))
		}
		return b.Put([]byte("schema"), []byte(v))
	})
}

// TestSchemaRecorded checks that Open records this version's schema in a
// new file and keeps it on reopening.
func TestSchemaRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "caunoi.db")
	closeStore(t, openFile(t, path))
	if v := schemaOf(t, path); v != "2" {
		t.Fatalf("schema of a new file = %q, want 2", v)
	}
	closeStore(t, openFile(t, path))
	if v := schemaOf(t, path); v != "2" {
		t.Fatalf("schema after reopening = %q, want 2", v)
	}
}

// TestSchemaNewerRefused opens a file that a newer version wrote, and one
// whose schema is not a version: Open fails, saying why, and the file is
// byte for byte as it was.
func TestSchemaNewerRefused(t *testing.T) {
	path, _ := sampleFile(t)
	for _, tt := range []struct {
		stored string
		want   string // in the error
		newer  bool
	}{
		{"3", "a newer version has upgraded the store", true},
		{"hai", `holds "hai" as its schema version`, false},
		{"0", `holds "0" as its schema version`, false},
	} {
		setSchema(t, path, tt.stored)
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = boltstore.Open(path)
		var se *caunoi.SchemaError
		switch {
		case err == nil:
			t.Errorf("Open on schema %q succeeded", tt.stored)
		case !strings.Contains(err.Error(), tt.want):
			t.Errorf("Open on schema %q: %v, want it to say %q", tt.stored, err, tt.want)
		case !errors.As(err, &se) || se.Found != tt.stored || se.Want != 2 || se.Newer() != tt.newer || !errors.Is(err, caunoi.ErrSchema):
			t.Errorf("Open on schema %q: %v, want a *caunoi.SchemaError{%s, 2} with Newer %v", tt.stored, err, tt.stored, tt.newer)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("Open on schema %q changed the file", tt.stored)
		}
	}
}

// TestSchemaAbsentRebuilds opens a file that has the indexes of status,
// missing an entry and holding a stray one, and no schema: as a version
// before the key leaves a file when it writes tickets after a newer
// version built the indexes. Open builds them again, once.
func TestSchemaAbsentRebuilds(t *testing.T) {
	path, m := sampleFile(t)

	stray := []byte("tu-phap\x00stray-key-of-no-ticket")
	editFile(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(openBucket))
		k, _ := b.Cursor().First()
		if k == nil {
			t.Fatal("no open ticket in the sample")
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		return b.Put(stray, nil)
	})
	setSchema(t, path, "")

	checkFile(t, path, m)
	if open, done, tickets := indexSizes(t, path); open+done != tickets {
		t.Errorf("rebuilt indexes hold %d open and %d finished tickets, want %d in all", open, done, tickets)
	}
	if v := schemaOf(t, path); v != "2" {
		t.Errorf("schema after the rebuild = %q, want 2", v)
	}

	// From now on the indexes are kept as they are.
	editFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket([]byte(openBucket)).Put(stray, nil) })
	closeStore(t, openFile(t, path))
	editFile(t, path, func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(openBucket)).Get(stray) == nil {
			t.Error("the indexes were built again on a file of this version")
		}
		return nil
	})
}
