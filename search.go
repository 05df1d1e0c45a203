package caunoi

import (
	"context"
	"time"
)

// Passage is one searchable section of the handbook: a "##" section of an
// entry, or the entry's lead text when it has no sections.
type Passage struct {
	// ID is unique in the handbook: EntryID + "#" + Anchor.
	ID string
	// EntryID is the stable id of the entry (front matter "id", or its path).
	EntryID string
	// Anchor is the section's slug, unique within the entry.
	Anchor string
	// Title is the entry's title.
	Title string
	// Section is the section heading; empty for an entry's lead text.
	Section string
	// TitlePath is the headings from the entry title down to this section.
	TitlePath []string
	// Text is the section body as plain text, paragraphs separated by "\n\n".
	Text string
	// Department is the code of the department that answers escalations.
	Department string
	// Questions are the entry's sample questions, as officials phrase them.
	Questions []string
	// LegalBasis lists the documents the entry rests on.
	LegalBasis []string
	// Updated is when the entry was last revised; ReviewBy is when it must be
	// checked again. Either may be zero.
	Updated  time.Time
	ReviewBy time.Time
	// File and Line locate the section in the handbook source.
	File string
	Line int
}

// Stale reports whether the passage is past its review date at now.
func (p Passage) Stale(now time.Time) bool {
	return !p.ReviewBy.IsZero() && now.After(p.ReviewBy)
}

// Confidence is how sure a search is that its best hit answers the question.
type Confidence int

const (
	// ConfidenceNone means nothing relevant was found.
	ConfidenceNone Confidence = iota
	// ConfidenceLow means there are candidates, but none is a sure answer.
	ConfidenceLow
	// ConfidenceHigh means the best hit very likely answers the question.
	ConfidenceHigh
)

// String returns "none", "low" or "high".
func (c Confidence) String() string {
	switch c {
	case ConfidenceHigh:
		return "high"
	case ConfidenceLow:
		return "low"
	default:
		return "none"
	}
}

// Hit is one ranked passage.
type Hit struct {
	Passage Passage
	Score   float64
	// Snippet is plain text of at most 300 characters around the matched
	// terms. Highlights marks the matched spans in Snippet as rune offsets.
	Snippet    string
	Highlights []Span
	Confidence Confidence
}

// Span is a half-open range [Start, End) of rune offsets.
type Span struct{ Start, End int }

// SearchResult is the outcome of one search.
type SearchResult struct {
	Query      string
	Hits       []Hit
	Confidence Confidence
	// Version identifies the handbook build that answered.
	Version string
}

// Searcher finds handbook passages for a question.
// Implementations are safe for concurrent use.
type Searcher interface {
	// Search returns at most limit hits, best first. An empty or unusable
	// query returns ErrInvalid.
	Search(ctx context.Context, query string, limit int) (SearchResult, error)
}
