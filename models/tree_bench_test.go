package models

import "testing"

// BenchmarkNest measures building the tree of a 200-comment page (50
// top-level comments with three replies each) from its two query results.
func BenchmarkNest(b *testing.B) {
	const roots = 50
	for b.Loop() {
		b.StopTimer()
		top := make([]*ThreadComment, roots)
		var replies []*ThreadComment
		id := uint(0)
		next := func(parent *ThreadComment) *ThreadComment {
			id++
			c := &ThreadComment{ID: id}
			if parent != nil {
				c.ParentID = &parent.ID
			}
			return c
		}
		for i := range top {
			top[i] = next(nil)
		}
		for _, t := range top {
			r := next(t)
			replies = append(replies, r, next(r), next(t))
		}
		b.StartTimer()
		if ids := nest(top, replies); len(ids) != 4*roots {
			b.Fatalf("nested %d comments, want %d", len(ids), 4*roots)
		}
	}
}
