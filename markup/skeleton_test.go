package markup

import "testing"

func TestSkeleton(t *testing.T) {
	admin := Skeleton("admin")
	for _, s := range []string{"Admin", "ADMIN", "\u0410dmin", "ａｄｍｉｎ", "ad\u200Bmin", "a\u00addmin", "ad\u2060min", "𝐚𝐝𝐦𝐢𝐧", "\u0430\u0501min"} {
		if got := Skeleton(s); got != admin {
			t.Errorf("Skeleton(%q) = %q, want %q (as admin)", s, got, admin)
		}
	}
	for _, s := range []string{"admiral", "adrian", "Alice", ""} {
		if Skeleton(s) == admin {
			t.Errorf("Skeleton(%q) matches admin", s)
		}
	}
	if Skeleton("paypal") != Skeleton("p\u0430yp\u0430l") || Skeleton("bob") == Skeleton("rob") {
		t.Error("skeletons confuse or separate the wrong names")
	}
}

func TestMatchKey(t *testing.T) {
	base := MatchKey("Buy cheap watches at example dot com")
	for _, s := range []string{"Buy cheap watches at example dot com!", "buy  cheap\nwatches at example dot com.", "Buy ch\u0435ap watches at example dot com", "**Buy** cheap watches, at example dot com!!!"} {
		if MatchKey(s) != base {
			t.Errorf("MatchKey(%q) = %q, want %q", s, MatchKey(s), base)
		}
	}
	if MatchKey("Buy cheap watches at example dot org") == base {
		t.Error("a different body has the same key")
	}
}
