package caunoi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultInviteTTL is how long an invite stays valid unless told otherwise.
const DefaultInviteTTL = 7 * 24 * time.Hour

// inviteBytes is the entropy of an invite code: 144 bits, which encode to
// 24 URL-safe characters with no padding.
const inviteBytes = 18

// NewInviteCode returns a fresh invite code read from r: 24 characters of
// A–Z a–z 0–9 _ -, usable as a Telegram deep-link payload.
func NewInviteCode(r io.Reader) (string, error) {
	b := make([]byte, inviteBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate invite code: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidInviteCode reports whether s has the shape of an invite code: 1 to 64
// characters from A–Z a–z 0–9 _ -, the alphabet of deep-link payloads.
func ValidInviteCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// InviteRequest describes an invite to create.
type InviteRequest struct {
	Role Role
	// Commune is required for RoleOfficial and must be in the registry.
	Commune string
	// Department is required for RoleStaff and RoleLead.
	Department string
	// TTL is how long the invite stays valid; zero means the desk's default.
	TTL time.Duration
}

// CreateInvite creates a single-use invite. Only admins may (ErrForbidden).
// The request is ErrInvalid when the role is unknown, when a commune is
// missing for an official or not in the registry, when a department is
// missing for staff or a lead or unknown, when it names a commune or
// department the role does not use, or when the TTL is negative.
func (d *Desk) CreateInvite(ctx context.Context, actor UserID, req InviteRequest) (Invite, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	if !p.Has(RoleAdmin) {
		return Invite{}, fmt.Errorf("create invite by user %d: %w", actor, ErrForbidden)
	}
	if err := d.checkInvite(ctx, req); err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = d.InviteTTL
	}
	if ttl == 0 {
		ttl = DefaultInviteTTL
	}
	now := d.now()
	inv := Invite{
		Role:       req.Role,
		Commune:    req.Commune,
		Department: req.Department,
		CreatedBy:  actor,
		Created:    now,
		Expires:    now.Add(ttl),
	}
	// A collision of 144-bit codes does not happen in practice; the loop
	// only guards against a broken random source.
	for range 3 {
		if inv.Code, err = NewInviteCode(d.random()); err != nil {
			return Invite{}, fmt.Errorf("create invite: %w", err)
		}
		err = d.Store.CreateInvite(ctx, inv)
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	if err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	return inv, nil
}

func (d *Desk) checkInvite(ctx context.Context, req InviteRequest) error {
	if !req.Role.Valid() {
		return fmt.Errorf("unknown role %q: %w", req.Role, ErrInvalid)
	}
	if req.TTL < 0 {
		return fmt.Errorf("negative validity %v: %w", req.TTL, ErrInvalid)
	}
	switch req.Role {
	case RoleOfficial:
		if req.Department != "" {
			return fmt.Errorf("an official's invite names a commune, not a department: %w", ErrInvalid)
		}
		if req.Commune == "" {
			return fmt.Errorf("an official's invite needs a commune: %w", ErrInvalid)
		}
		if _, err := d.Store.Commune(ctx, req.Commune); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("commune %q is not in the registry: %w", req.Commune, ErrInvalid)
		} else if err != nil {
			return fmt.Errorf("look up commune %q: %w", req.Commune, err)
		}
	case RoleStaff, RoleLead:
		if req.Commune != "" {
			return fmt.Errorf("a %s invite names a department, not a commune: %w", req.Role, ErrInvalid)
		}
		if req.Department == "" {
			return fmt.Errorf("a %s invite needs a department: %w", req.Role, ErrInvalid)
		}
		if _, ok := d.Department(req.Department); !ok {
			return fmt.Errorf("unknown department %q: %w", req.Department, ErrInvalid)
		}
	default:
		if req.Commune != "" || req.Department != "" {
			return fmt.Errorf("a %s invite names no commune or department: %w", req.Role, ErrInvalid)
		}
	}
	return nil
}

// MaxNameLen bounds a person's display name, in characters.
const MaxNameLen = 100

// Register redeems invite code for user id, under name. A person registered
// before keeps their roles and gains the invite's. It returns ErrInvalid for
// a bad id or name, ErrNotFound for an unknown or malformed code, and
// ErrExpired for a used or expired one; of concurrent redemptions of one
// code exactly one succeeds.
func (d *Desk) Register(ctx context.Context, id UserID, name, code string) (Official, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case id <= 0:
		return Official{}, fmt.Errorf("register: bad user id %d: %w", id, ErrInvalid)
	case name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen:
		return Official{}, fmt.Errorf("register: bad name: %w", ErrInvalid)
	case !ValidInviteCode(code):
		return Official{}, fmt.Errorf("register: malformed invite code: %w", ErrNotFound)
	}
	now := d.now()
	o, err := d.Store.Official(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		o = Official{ID: id, Registered: now}
	case err != nil:
		return Official{}, fmt.Errorf("register user %d: %w", id, err)
	}
	o.Name = name
	o, err = d.Store.RedeemInvite(ctx, code, o, now)
	if err != nil {
		return Official{}, fmt.Errorf("register user %d: %w", id, err)
	}
	return o, nil
}
