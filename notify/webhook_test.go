package notify_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
	"github.com/parley-comments/parley/moderation"
	"github.com/parley-comments/parley/notify"
)

func kinds(got []received) string {
	var out []string
	for _, r := range got {
		out = append(out, r.Type)
	}
	return strings.Join(out, " ")
}

func TestWebhooks_SignedInOrder(t *testing.T) {
	store := dbtest.Open(t)
	w := newWorld(t, store)
	rcv := newReceiver(t)
	h := w.hook(rcv.srv.URL+"/hook", true)
	rcv.secret = h.Secret
	other := newReceiver(t) // subscribed to deletions only
	other.secret = w.hook(other.srv.URL, true, "comment.deleted").Secret

	c := w.comment(w.alice, "hello hooks", nil)
	if _, err := w.svc.Edit(t.Context(), c.ID, w.alice, "hello hooks, edited"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Flag(t.Context(), c.ID, w.bob, "spam", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Moderate(t.Context(), c.ID, w.mod, moderation.ActionReject, "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Moderate(t.Context(), c.ID, w.mod, moderation.ActionRestore, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Delete(t.Context(), c.ID, w.alice); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Ban(t.Context(), w.bob.ID, w.mod, moderation.BanRequest{Reason: "trolling"}); err != nil {
		t.Fatal(err)
	}
	s := &notify.Sender{Store: store}
	pump(t, store, s, func() bool { return len(rcv.received()) == 7 && len(other.received()) == 1 })
	// In order per comment; the ban is about no comment and waits for none.
	var ofComment []received
	for _, r := range rcv.received() {
		if r.Type != "user.banned" {
			ofComment = append(ofComment, r)
		}
	}
	const want = "comment.created comment.edited comment.flagged comment.rejected comment.approved comment.deleted"
	if got := kinds(ofComment); got != want || len(ofComment) != 6 {
		t.Fatalf("received %s\nwant %s", got, want)
	}
	if got := kinds(other.received()); got != "comment.deleted" {
		t.Fatalf("the deletions-only endpoint received %s", got)
	}
	if len(rcv.bad) > 0 {
		t.Fatalf("requests with a bad signature: %v", rcv.bad)
	}
	first := ofComment[0]
	if first.Comment != c.ID || !strings.Contains(string(first.Body), `"article_slug":"hooked"`) || !strings.HasPrefix(first.ID, "msg_") {
		t.Fatalf("first delivery %s %s, want comment %d of article hooked", first.ID, first.Body, c.ID)
	}
	var log []models.WebhookDelivery
	store.Read.Where("webhook_id = ?", h.ID).Order("id").Find(&log)
	for _, d := range log {
		if d.State != models.DeliveryDelivered || d.LastCode != 204 || d.Attempts != 1 {
			t.Fatalf("delivery log %+v, want delivered at the first attempt with 204", d)
		}
	}
}

func TestWebhooks_RetriesInOrderAfterFailures(t *testing.T) {
	store := dbtest.Open(t)
	w := newWorld(t, store)
	// 500, then a hang past the timeout, then 503: three failures, then fine.
	rcv := newReceiver(t, 500, 0, 503)
	rcv.secret = w.hook(rcv.srv.URL, true).Secret
	c := w.comment(w.alice, "first version", nil)
	if _, err := w.svc.Edit(t.Context(), c.ID, w.alice, "second version"); err != nil {
		t.Fatal(err)
	}
	s := &notify.Sender{Store: store, Timeout: 300 * time.Millisecond, FirstRetry: 20 * time.Millisecond}
	pump(t, store, s, func() bool { return len(rcv.received()) == 2 })
	if got := kinds(rcv.received()); got != "comment.created comment.edited" {
		t.Fatalf("received %s, want the creation before the edit", got)
	}
	var first models.WebhookDelivery
	store.Read.Where("kind = ?", "comment.created").Take(&first)
	if first.Attempts != 4 || first.State != models.DeliveryDelivered {
		t.Fatalf("first delivery: %d attempts, state %s; want 4, delivered", first.Attempts, first.State)
	}
}

func TestWebhooks_GiveUpAfterADay(t *testing.T) {
	store := dbtest.Open(t)
	w := newWorld(t, store)
	rcv := newReceiver(t, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	rcv.secret = w.hook(rcv.srv.URL, true).Secret
	w.comment(w.alice, "never gets through", nil)
	(&notify.FanOut{Store: store}).Drain(t.Context())
	now := time.Now()
	s := &notify.Sender{Store: store, FirstRetry: time.Hour, MaxRetry: 4 * time.Hour, Now: func() time.Time { return now }}
	var d models.WebhookDelivery
	for i := 0; d.State != models.DeliveryFailed; i++ {
		if i > 20 {
			t.Fatalf("still %s after %d attempts", d.State, d.Attempts)
		}
		if _, err := s.SendDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		store.Read.Take(&d)
		if d.State == models.DeliveryPending {
			if wait := d.NextAt.Sub(now); wait < time.Hour || wait > 5*time.Hour {
				t.Fatalf("attempt %d: next in %s, want 1 to 4.4 hours", d.Attempts, wait)
			}
			now = d.NextAt
		}
	}
	if age := now.Sub(d.CreatedAt); age < 24*time.Hour || d.Attempts < 6 || d.LastCode != 500 {
		t.Fatalf("gave up after %s and %d attempts (last %d), want a day of retries", age, d.Attempts, d.LastCode)
	}
}

func TestWebhooks_SurviveARestartMidRetry(t *testing.T) {
	open := reopenable(t)
	store := open()
	w := newWorld(t, store)
	rcv := newReceiver(t, 500)
	rcv.secret = w.hook(rcv.srv.URL, true).Secret
	c := w.comment(w.alice, "delivered across a restart", nil)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&notify.FanOut{Store: store, Poll: 10 * time.Millisecond}).Run(ctx)
	}()
	s := &notify.Sender{Store: store, FirstRetry: 200 * time.Millisecond, Poll: 10 * time.Millisecond}
	go s.Run(ctx)
	waitUntil(t, func() bool {
		var d models.WebhookDelivery
		return store.Read.Where("attempts = 1 AND last_code = 500").Take(&d).Error == nil
	})
	stop()
	<-done
	store.Close()

	store = open() // the next process
	defer store.Close()
	ctx, stop = context.WithCancel(context.Background())
	defer stop()
	go (&notify.Sender{Store: store, FirstRetry: 200 * time.Millisecond, Poll: 10 * time.Millisecond}).Run(ctx)
	waitUntil(t, func() bool { return len(rcv.received()) == 1 })
	if got := rcv.received()[0]; got.Comment != c.ID || got.Type != "comment.created" {
		t.Fatalf("received %+v", got)
	}
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func TestWebhooks_SSRF(t *testing.T) {
	store := dbtest.Open(t)
	w := newWorld(t, store)
	ctx := t.Context()
	all := []string{"comment.created"}
	for _, url := range []string{"http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.8/", "ftp://example.org/", "http://user:pw@example.org/"} {
		_, err := notify.CreateWebhook(ctx, store, notify.Endpoint{URL: &url, Events: &all}, time.Now())
		var invalid *fault.Error
		if !errors.As(err, &invalid) || invalid.Fields["url"] == "" {
			t.Errorf("registering %s: err %v, want a validation error on url", url, err)
		}
	}

	// Names are checked where it counts, when connecting: localhost, and a
	// name a (real, loopback) DNS server resolves to a private address.
	rcv := newReceiver(t)
	port := rcv.srv.URL[strings.LastIndex(rcv.srv.URL, ":"):]
	rcv.secret = w.hook("http://localhost"+port+"/", false).Secret
	w.hook("http://intranet.example"+port+"/", false)
	w.hook("http://metadata.example/", false)
	w.comment(w.alice, "goes nowhere", nil)
	s := &notify.Sender{Store: store, Resolver: fakeDNS(t, map[string]string{"intranet.example.": "10.1.2.3", "metadata.example.": "169.254.169.254"}), Timeout: time.Second}
	(&notify.FanOut{Store: store}).Drain(ctx)
	if _, err := s.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	var log []models.WebhookDelivery
	store.Read.Order("id").Find(&log)
	if len(log) != 3 {
		t.Fatalf("%d deliveries, want 3", len(log))
	}
	for _, d := range log {
		if d.State != models.DeliveryPending || !strings.Contains(d.LastError, "address not allowed") {
			t.Errorf("delivery to webhook %d: state %s, error %q; want refused before connecting", d.WebhookID, d.State, d.LastError)
		}
	}
	if rcv.hits != 0 {
		t.Fatalf("the receiver was reached %d times", rcv.hits)
	}
	for ip, blocked := range map[string]bool{"127.0.0.1": true, "169.254.169.254": true, "10.0.0.1": true, "172.16.0.1": true, "192.168.1.1": true,
		"100.64.0.1": true, "0.0.0.0": true, "::1": true, "fd00::1": true, "fe80::1": true, "::ffff:127.0.0.1": true, "224.0.0.1": true,
		"93.184.216.34": false, "2606:4700::1111": false} {
		if got := notify.Blocked(netip.MustParseAddr(ip)); got != blocked {
			t.Errorf("Blocked(%s) = %v, want %v", ip, got, blocked)
		}
	}
}

// fakeDNS runs a DNS server on loopback answering A queries from names and
// returns a resolver that asks it.
func fakeDNS(t *testing.T, names map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			if ip, ok := names[q.Name.String()]; ok && q.Type == dnsmessage.TypeA {
				b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
					dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()})
			}
			msg, _ := b.Finish()
			pc.WriteTo(msg, addr)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}
