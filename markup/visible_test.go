package markup

import "testing"

// TestRender_RawHTMLShowsAsText: text typed beside raw HTML is kept, the
// HTML shown as the literal text the reader typed, never run.
func TestRender_RawHTMLShowsAsText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"a line that starts with a tag", "<script>alert(1)</script> see [docs](https://example.com)",
			"<p>&lt;script&gt;alert(1)&lt;/script&gt; see [docs](https://example.com)</p>"},
		{"inline tags", "hi <b>there</b>", "<p>hi &lt;b&gt;there&lt;/b&gt;</p>"},
		{"a block over two lines", "<div>\nhello\n</div>", "<p>&lt;div&gt;<br>\nhello<br>\n&lt;/div&gt;</p>"},
		{"a comment tag", "a <!-- x --> b", "<p>a &lt;!-- x --&gt; b</p>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.in)
			checkSafeHTML(t, got.HTML)
			if got.HTML != tc.want || !got.Visible {
				t.Errorf("Render(%q) = %q (visible %v), want %q", tc.in, got.HTML, got.Visible, tc.want)
			}
		})
	}
}

func TestRender_Visible(t *testing.T) {
	for in, want := range map[string]bool{
		"hello":                               true,
		"![](https://example.com/a.png)":      false,
		"[](https://example.com)":             false,
		"---":                                 false,
		"&nbsp;":                              false,
		"\u200b\u3164":                        false,
		"** **":                               false,
		"![a cat](https://example.com/c.png)": true,
		"`x`":                                 true,
		"&lt;":                                true,
	} {
		if got := Render(in).Visible; got != want {
			t.Errorf("Render(%q).Visible = %v, want %v (HTML %q)", in, got, want, Render(in).HTML)
		}
	}
}
