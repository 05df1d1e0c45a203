package caunoi

import "errors"

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
