// Package handbook holds the content of Cầu Nối's professional handbook:
// Markdown entries with YAML front matter, one folder per field of work,
// plus departments.yaml and glossary.yaml. It embeds them in the binary;
// package knowledge loads and validates them.
package handbook

import (
	"embed"
	"io/fs"
)

// content is every file in this directory, recursively. Names starting with
// "." or "_" below the top level are left out by the embed rules; the loader
// ignores everything that is not handbook content.
//
//go:embed *
var content embed.FS

// FS returns the embedded handbook; its root is this directory, so
// "departments.yaml" and "ho-tich/dang-ky-khai-sinh.md" are valid names.
func FS() fs.FS { return content }
