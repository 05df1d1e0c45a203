package caunoi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Stats summarises a department's work in a period: the tickets created in
// it, and the questions asked in it.
type Stats struct {
	// Department is the department, or empty for all of them.
	Department string
	From, To   time.Time
	// Tickets is how many tickets were created in [From, To).
	Tickets  int
	ByStatus map[Status]int
	// Overdue counts the tickets still past a deadline now (see Desk.Overdue).
	Overdue int
	// Responded counts tickets with a first response; MedianFirstResponse
	// and P90FirstResponse are the working time from creation to it.
	Responded           int
	MedianFirstResponse time.Duration
	P90FirstResponse    time.Duration
	// Resolved counts tickets confirmed resolved; MedianResolution and
	// P90Resolution are the working time from creation to confirmation.
	Resolved         int
	MedianResolution time.Duration
	P90Resolution    time.Duration
	// ResponseDeadlines counts the tickets whose first-response deadline is
	// settled: staff acted, or the deadline passed without them acting.
	// ResponseMissed counts those where staff acted late or not at all.
	ResponseDeadlines, ResponseMissed int
	// ResolutionDeadlines counts the tickets whose resolution deadline is
	// settled: the department answered (replied, proposed a solution or
	// closed the ticket), or the deadline passed while the ticket waited on
	// the department. ResolutionMissed counts those answered late or not at
	// all. A ticket waiting on the official is not held against the
	// department.
	ResolutionDeadlines, ResolutionMissed int
	// Questions counts the questions asked in [From, To) (see
	// StatsQuery.DepartmentOf for how a question is attributed to a
	// department). Deflected counts those the handbook answered: not
	// escalated, and either marked helpful by the official, or answered
	// with high confidence and not marked unhelpful. Escalated counts those
	// that became tickets.
	Questions, Deflected, Escalated int
	// TopEntries are the handbook entries most often put first for the
	// questions that became tickets, most frequent first; Unmatched counts
	// such tickets for which the handbook found nothing.
	TopEntries []TopicCount
	Unmatched  int
	// TopKeywords are the word pairs (folded: lower case, without
	// diacritics) most common in the questions that became tickets.
	TopKeywords []TopicCount
	// Rated counts rated tickets; MeanRating is their mean rating (0 if none).
	Rated      int
	MeanRating float64
}

// TopicCount is one line of a top list.
type TopicCount struct {
	// Key is the handbook entry id, or the folded word pair.
	Key string
	// Title is the entry's title; empty for word pairs.
	Title string
	Count int
}

// ResponseMissRate is the share, 0 to 1, of settled first-response
// deadlines that were missed; 0 when none is settled.
func (s Stats) ResponseMissRate() float64 { return ratio(s.ResponseMissed, s.ResponseDeadlines) }

// ResolutionMissRate is the share of settled resolution deadlines that were
// missed; 0 when none is settled.
func (s Stats) ResolutionMissRate() float64 { return ratio(s.ResolutionMissed, s.ResolutionDeadlines) }

// DeflectionRate is the share of questions the handbook answered without a
// ticket (Deflected / Questions); 0 without questions.
func (s Stats) DeflectionRate() float64 { return ratio(s.Deflected, s.Questions) }

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// StatsQuery selects the statistics of StatsFor.
type StatsQuery struct {
	// Department is a department code, or empty for all departments.
	Department string
	// From and To bound the period, [From, To).
	From, To time.Time
	// DepartmentOf returns the department that answers a handbook
	// candidate's entry, or "" when unknown. A question that became a
	// ticket belongs to the department its ticket was opened for; any other
	// question belongs to the department of its best candidate, when
	// DepartmentOf knows it. Questions that belong to no department count
	// only in the statistics of all departments. Nil means that only
	// escalated questions are attributed.
	DepartmentOf func(Candidate) string
	// Top is the length of the top lists; zero means 5.
	Top int
}

// Stats returns the statistics of department dept in [from, to), without
// attributing questions that were not escalated (see StatsFor).
func (d *Desk) Stats(ctx context.Context, actor UserID, dept string, from, to time.Time) (Stats, error) {
	return d.StatsFor(ctx, actor, StatsQuery{Department: dept, From: from, To: to})
}

// StatsFor returns the statistics q selects. Leads of q.Department and
// admins may ask; only admins may ask for all departments. Others get
// ErrForbidden. An unknown department, or a period that does not end after
// it starts, is ErrInvalid. Durations are working time on the desk's
// calendar; deadlines and "overdue" are judged at the desk's now.
func (d *Desk) StatsFor(ctx context.Context, actor UserID, q StatsQuery) (Stats, error) {
	dept := q.Department
	p, err := d.person(ctx, actor)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	allowed := p.Has(RoleAdmin) || (dept != "" && p.Has(RoleLead) && p.Department == dept)
	if !allowed {
		return Stats{}, fmt.Errorf("stats of %q for user %d: %w", dept, actor, ErrForbidden)
	}
	if !q.To.After(q.From) {
		return Stats{}, fmt.Errorf("stats: period ends before it starts: %w", ErrInvalid)
	}
	if _, ok := d.Department(dept); dept != "" && !ok {
		return Stats{}, fmt.Errorf("stats: unknown department %q: %w", dept, ErrInvalid)
	}
	top := q.Top
	if top <= 0 {
		top = 5
	}
	ts, err := d.Store.Tickets(ctx, TicketFilter{Department: dept, CreatedAfter: q.From, CreatedBefore: q.To})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	now := d.now()
	s := Stats{Department: dept, From: q.From, To: q.To, Tickets: len(ts), ByStatus: map[Status]int{}}
	var firsts, resolutions []time.Duration
	stars := 0
	entries := counter{}
	keywords := counter{}
	for _, t := range ts {
		s.ByStatus[t.Status]++
		own := slices.Contains(ownStatuses, t.Status)
		if own && !deadline(t).At.After(now) {
			s.Overdue++
		}
		if !t.FirstResponse.IsZero() {
			firsts = append(firsts, d.Calendar.WorkingBetween(t.Created, t.FirstResponse))
		}
		if t.Status == StatusResolved && !t.ResolvedAt.IsZero() {
			resolutions = append(resolutions, d.Calendar.WorkingBetween(t.Created, t.ResolvedAt))
		}
		if t.Rating > 0 {
			s.Rated++
			stars += t.Rating
		}
		// First response: settled once staff acted or the deadline passed.
		switch {
		case !t.FirstResponse.IsZero():
			s.ResponseDeadlines++
			if t.FirstResponse.After(t.FirstResponseDue) {
				s.ResponseMissed++
			}
		case !t.FirstResponseDue.After(now):
			s.ResponseDeadlines++
			s.ResponseMissed++
		}
		// Resolution: settled by the department's first answer since the
		// ticket came to it, or by the deadline passing while it waited on
		// the department.
		answered, err := d.answeredAt(ctx, t)
		if err != nil {
			return Stats{}, fmt.Errorf("stats: %w", err)
		}
		switch {
		case !answered.IsZero():
			s.ResolutionDeadlines++
			if answered.After(t.ResolutionDue) {
				s.ResolutionMissed++
			}
		case own && !t.ResolutionDue.After(now):
			s.ResolutionDeadlines++
			s.ResolutionMissed++
		}
		if len(t.Results) > 0 && t.Results[0].EntryID != "" {
			entries.add(t.Results[0].EntryID, t.Results[0].Title)
		} else {
			s.Unmatched++
		}
		for _, k := range keyPairs(t.Question) {
			keywords.add(k, "")
		}
	}
	s.Responded = len(firsts)
	s.MedianFirstResponse, s.P90FirstResponse = percentile(firsts, 50), percentile(firsts, 90)
	s.Resolved = len(resolutions)
	s.MedianResolution, s.P90Resolution = percentile(resolutions, 50), percentile(resolutions, 90)
	if s.Rated > 0 {
		s.MeanRating = float64(stars) / float64(s.Rated)
	}
	s.TopEntries = entries.top(top)
	s.TopKeywords = keywords.top(top)

	qs, err := d.Store.Questions(ctx, q.From, q.To)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: questions: %w", err)
	}
	for _, rec := range qs {
		if dept != "" && d.questionDepartment(rec, q.DepartmentOf) != dept {
			continue
		}
		s.Questions++
		switch {
		case rec.Escalated != "":
			s.Escalated++
		case rec.Helpful != nil && *rec.Helpful, rec.Helpful == nil && rec.Confidence == ConfidenceHigh:
			s.Deflected++
		}
	}
	return s, nil
}

// answeredAt returns when the department holding t first answered it since
// the ticket came to that department: the first reply, proposed solution or
// closing after the ticket's creation or latest transfer. It is zero when
// the department has not answered.
func (d *Desk) answeredAt(ctx context.Context, t Ticket) (time.Time, error) {
	if t.Status == StatusNew || t.Status == StatusTransferred {
		return time.Time{}, nil
	}
	events, err := d.Store.Events(ctx, t.Number)
	if err != nil {
		return time.Time{}, fmt.Errorf("events of %s: %w", t.Number, err)
	}
	var at time.Time
	for _, ev := range events {
		switch {
		case ev.Kind == EventTransferred:
			at = time.Time{}
		case at.IsZero() && (ev.To == StatusAnswered || ev.Kind == EventClosed):
			at = ev.At
		}
	}
	return at, nil
}

// questionDepartment attributes a logged question to a department, as
// StatsQuery.DepartmentOf describes; "" when it cannot.
func (d *Desk) questionDepartment(q QuestionRecord, departmentOf func(Candidate) string) string {
	if q.Escalated != "" {
		prefix, _, _ := strings.Cut(q.Escalated, "-")
		for _, dep := range d.Departments {
			if dep.Prefix == prefix {
				return dep.Code
			}
		}
		return ""
	}
	if departmentOf != nil && len(q.Top) > 0 {
		return departmentOf(q.Top[0])
	}
	return ""
}

// percentile returns the nearest-rank pth percentile of ds (the lower middle
// for the median of an even count), or zero for none. It sorts ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (p*len(ds)+99)/100 - 1
	return ds[max(i, 0)]
}

// counter counts keys for a top list, remembering a title for each.
type counter map[string]*TopicCount

func (c counter) add(key, title string) {
	if tc, ok := c[key]; ok {
		tc.Count++
		return
	}
	c[key] = &TopicCount{Key: key, Title: title, Count: 1}
}

// top returns the n most frequent keys, ties broken by key.
func (c counter) top(n int) []TopicCount {
	out := make([]TopicCount, 0, len(c))
	for _, tc := range c {
		out = append(out, *tc)
	}
	slices.SortFunc(out, func(a, b TopicCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// stopSyllables are Vietnamese function words and words every question
// shares; a word pair that contains one is not a keyword. Syllables that
// are also parts of content words ("sao" in "bản sao", "thế" in "thế
// chấp") are left out: the function word next to them catches the
// question forms ("làm sao", "vì sao", "thế nào").
var stopSyllables = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`là của thì có không được cho và các những một này đó ở tại với gì nào
		như vì bao nhiêu cần làm ra vào đến từ khi nếu mà để bị đã đang sẽ về theo hay hoặc trong ai
		tôi em anh chị xin hỏi ạ nhé vậy rồi phải cũng còn nữa thủ tục người hiện nay đâu bên lại khác
		nhau`) {
		stopSyllables[w] = true
	}
}

// keyPairs returns the distinct pairs of adjacent syllables in text, folded
// (lower case, diacritics removed, đ as d), leaving out pairs with a stop
// word or a number. Vietnamese words are mostly two syllables, so pairs
// name topics ("khai sinh", "thuong tru") where single syllables do not.
func keyPairs(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(NFC(text)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
	var out []string
	for i := 0; i+1 < len(words); i++ {
		a, b := words[i], words[i+1]
		if stopSyllables[a] || stopSyllables[b] || !wordLike(a) || !wordLike(b) {
			continue
		}
		k := fold(a) + " " + fold(b)
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// wordLike reports whether w is a syllable rather than a number or code.
func wordLike(w string) bool {
	for _, r := range w {
		if unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// fold lower-cases s, removes its diacritics and writes đ as d.
func fold(s string) string {
	var b strings.Builder
	var rs []rune
	for _, r := range strings.ToLower(s) {
		rs = appendDecomposed(rs[:0], r)
		for _, x := range rs {
			switch {
			case x >= 0x0300 && x <= 0x036F:
			case x == 'đ':
				b.WriteRune('d')
			default:
				b.WriteRune(x)
			}
		}
	}
	return b.String()
}
