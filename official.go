package caunoi

import (
	"slices"
	"time"
)

// UserID identifies a person on the messaging channel (a Telegram user id).
type UserID int64

// Role is what a registered person may do.
type Role string

// Roles. A person may hold several; RoleStaff and RoleLead are tied to the
// person's Department, RoleOfficial to their Commune.
const (
	RoleOfficial Role = "official" // commune or ward official: asks, follows own tickets
	RoleStaff    Role = "staff"    // department staff: handles the department's tickets
	RoleLead     Role = "lead"     // department lead: staff rights plus statistics
	RoleEditor   Role = "editor"   // handbook editor: reload, gaps, drafts
	RoleAdmin    Role = "admin"    // administrator: invites, registry
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOfficial, RoleStaff, RoleLead, RoleEditor, RoleAdmin:
		return true
	}
	return false
}

// Official is a registered person: a commune official, or department staff.
type Official struct {
	ID       UserID
	Name     string
	Position string
	// Commune is the commune or ward code, for officials.
	Commune string
	// Department is the department code, for staff and leads.
	Department string
	Roles      []Role
	Registered time.Time
}

// Has reports whether o holds role r.
func (o Official) Has(r Role) bool { return slices.Contains(o.Roles, r) }

// Commune is a commune, ward or special zone from the admin registry.
type Commune struct {
	Code     string
	Name     string
	Province string
	// Former lists the units merged into this one in 2025.
	Former []string
}

// Invite is a single-use registration code. Registering with it is the only
// way to gain a role.
type Invite struct {
	Code       string
	Role       Role
	Commune    string // for RoleOfficial
	Department string // for RoleStaff and RoleLead
	CreatedBy  UserID
	Created    time.Time
	Expires    time.Time
	UsedBy     UserID // zero while unused
	UsedAt     time.Time
}

// Label returns the role in plain Vietnamese, for people to read.
func (r Role) Label() string {
	switch r {
	case RoleOfficial:
		return "cán bộ xã, phường"
	case RoleStaff:
		return "cán bộ sở"
	case RoleLead:
		return "lãnh đạo sở"
	case RoleEditor:
		return "biên tập sổ tay"
	case RoleAdmin:
		return "quản trị"
	}
	return string(r)
}

// Usable reports whether the invite is unused and unexpired at now.
func (inv Invite) Usable(now time.Time) bool {
	if inv.UsedBy != 0 || !inv.UsedAt.IsZero() {
		return false
	}
	return inv.Expires.IsZero() || now.Before(inv.Expires)
}

// Grant returns o with the invite's role, commune and department merged in.
func (inv Invite) Grant(o Official) Official {
	o.Roles = slices.Clone(o.Roles)
	if inv.Role != "" && !o.Has(inv.Role) {
		o.Roles = append(o.Roles, inv.Role)
	}
	if inv.Commune != "" {
		o.Commune = inv.Commune
	}
	if inv.Department != "" {
		o.Department = inv.Department
	}
	return o
}
