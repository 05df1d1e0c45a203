package caunoi

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors returned across the domain. Adapters translate their own
// errors into these at the boundary; callers branch with errors.Is.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrForbidden means the actor may not perform the action. Nothing changed.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid means the input was rejected. Nothing changed.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict means the action does not fit the record's current state,
	// for example claiming a ticket that someone else has claimed.
	ErrConflict = errors.New("conflict")
	// ErrExpired means a code or link is past its expiry or already used.
	ErrExpired = errors.New("expired")
)

// ErrSchema is matched (errors.Is) by every *SchemaError.
var ErrSchema = errors.New("store schema mismatch")

// SchemaError reports that a store holds its data in another layout than
// this version of Cầu Nối writes: most often a newer version has opened
// it (Newer), and this one must not write to it any more.
type SchemaError struct {
	Found string // the store's version, as stored
	Want  int    // this version's
}

// Newer reports whether the store's version is a newer one than Want,
// rather than an older one or something that is not a version.
func (e *SchemaError) Newer() bool {
	n, err := strconv.Atoi(e.Found)
	return err == nil && n > e.Want
}

func (e *SchemaError) Error() string {
	if e.Newer() {
		return fmt.Sprintf("the store's schema is version %s, and this version of caunoi writes version %d: a newer version has upgraded the store", e.Found, e.Want)
	}
	return fmt.Sprintf("the store holds %q as its schema version, and this version of caunoi writes version %d and knows no other", e.Found, e.Want)
}

// Is makes errors.Is(err, ErrSchema) true.
func (e *SchemaError) Is(target error) bool { return target == ErrSchema }
