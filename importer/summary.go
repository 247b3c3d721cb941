package importer

import (
	"fmt"
	"io"
	"sort"
)

// Summary is what an import did (or, dry, would do), thread by thread.
type Summary struct {
	Format  string `json:"format"`
	Site    string `json:"site"`
	DryRun  bool   `json:"dry_run"`
	Created int    `json:"created"` // comments added
	Merged  int    `json:"merged"`  // comments already imported before
	Skipped int    `json:"skipped"` // comments (or other items) left out
	// ThreadsCreated counts the threads that did not exist before.
	ThreadsCreated int              `json:"threads_created"`
	Threads        []*ThreadSummary `json:"threads"`
	// Skips lists the first maxSkipReports skipped items with their reasons.
	Skips []SkipReport `json:"skips"`
	// Batches counts the write transactions; SlowestBatchMS is the longest
	// any of them held the writer (posters wait at most that long for it).
	Batches        int     `json:"batches"`
	SlowestBatchMS float64 `json:"slowest_batch_ms"`
	// Notes are remarks that are not skips: a reply whose parent was missing
	// imported at the top, deleted comments without replies not kept.
	Notes []string `json:"notes,omitempty"`

	byKey map[string]*ThreadSummary
}

// ThreadSummary is one thread of a Summary.
type ThreadSummary struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	New     bool   `json:"new"`
	Created int    `json:"created"`
	Merged  int    `json:"merged"`
	Skipped int    `json:"skipped"`
}

// SkipReport is one item an import left out.
type SkipReport struct {
	Item   string `json:"item"`
	Reason string `json:"reason"`
}

// maxSkipReports bounds the skips (and notes) a Summary keeps; the counts
// stay exact.
const maxSkipReports = 1000

func newSummary(format, site string, dry bool) *Summary {
	return &Summary{Format: format, Site: site, DryRun: dry, Skips: []SkipReport{}, Threads: []*ThreadSummary{}, byKey: map[string]*ThreadSummary{}}
}

func (s *Summary) thread(key, title string, isNew bool) *ThreadSummary {
	t := s.byKey[key]
	if t == nil {
		t = &ThreadSummary{Key: key, Title: title, New: isNew}
		s.byKey[key] = t
		s.Threads = append(s.Threads, t)
		if isNew {
			s.ThreadsCreated++
		}
	}
	return t
}

func (s *Summary) skip(item, reason string) {
	s.Skipped++
	if len(s.Skips) < maxSkipReports {
		s.Skips = append(s.Skips, SkipReport{Item: item, Reason: reason})
	}
}

func (s *Summary) note(format string, args ...any) {
	if len(s.Notes) < maxSkipReports {
		s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
	}
}

// Print writes the summary for a terminal: totals, then one line a thread
// (sorted by key), then the skipped items.
func (s *Summary) Print(w io.Writer) {
	verb := "imported"
	if s.DryRun {
		verb = "dry run: would import"
	}
	fmt.Fprintf(w, "%s %d comments (%d already imported, %d skipped) into %d threads (%d new) of site %s\n",
		verb, s.Created, s.Merged, s.Skipped, len(s.Threads), s.ThreadsCreated, s.Site)
	threads := append([]*ThreadSummary(nil), s.Threads...)
	sort.Slice(threads, func(i, j int) bool { return threads[i].Key < threads[j].Key })
	for _, t := range threads {
		state := "existing"
		if t.New {
			state = "new"
		}
		fmt.Fprintf(w, "  %-8s %s: %d created, %d merged, %d skipped\n", state, t.Key, t.Created, t.Merged, t.Skipped)
	}
	for _, sk := range s.Skips {
		fmt.Fprintf(w, "  skipped %s: %s\n", sk.Item, sk.Reason)
	}
	if n := s.Skipped - len(s.Skips); n > 0 {
		fmt.Fprintf(w, "  … and %d more skipped\n", n)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if s.Batches > 0 {
		fmt.Fprintf(w, "%d write batches, the longest held the writer %.1f ms\n", s.Batches, s.SlowestBatchMS)
	}
}
