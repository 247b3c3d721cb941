package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/parley-comments/parley/notify"
)

func TestWebhooks_RegisterDeliverReplay(t *testing.T) {
	s := newTestServer(t)
	admin := s.admin(t).AccessToken
	var hits atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") == "" {
			w.WriteHeader(400)
			return
		}
		hits.Add(1)
	}))
	defer rcv.Close()

	for _, body := range []map[string]any{
		{"url": "http://127.0.0.1:1/", "events": []string{"comment.created"}},
		{"url": "http://169.254.169.254/", "events": []string{"comment.created"}},
		{"url": "https://hooks.example/", "events": []string{"comment.exploded"}},
		{"url": "https://hooks.example/", "events": []string{}},
		{"url": "https://hooks.example/", "events": []string{"comment.created"}, "site": "nowhere"},
	} {
		wantError(t, s.do(t, "POST", "/api/v1/webhooks", admin, body), http.StatusBadRequest, "validation_failed")
	}
	rec := s.do(t, "POST", "/api/v1/webhooks", admin, map[string]any{"url": rcv.URL, "events": []string{"comment.created"}, "allow_private": true})
	want(t, rec, http.StatusCreated)
	hook := decode[struct {
		Webhook struct {
			ID     uint
			Secret string
			Site   string
		}
	}](t, rec).Webhook
	if hook.Site != "default" || len(hook.Secret) < 40 {
		t.Fatalf("webhook %+v, want the default site and a secret", hook)
	}

	alice := s.register(t, "alice")
	c := s.post(t, alice.AccessToken, seedSlug, "webhooks see this", nil)
	sender := &notify.Sender{Store: s.store}
	if _, err := (&notify.FanOut{Store: s.store}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec = s.do(t, "GET", fmt.Sprintf("/api/v1/webhooks/%d/deliveries", hook.ID), admin, nil)
	want(t, rec, http.StatusOK)
	log := decode[struct {
		Items []struct {
			ID        string
			State     string
			Event     string
			CommentID *uint `json:"comment_id"`
		}
	}](t, rec).Items
	if len(log) != 1 || log[0].State != "delivered" || log[0].Event != "comment.created" || *log[0].CommentID != c.ID || hits.Load() != 1 {
		t.Fatalf("delivery log %+v (receiver hit %d times), want one delivered comment.created", log, hits.Load())
	}

	rec = s.do(t, "POST", fmt.Sprintf("/api/v1/webhooks/%d/deliveries/%s/replay", hook.ID, log[0].ID), admin, nil)
	want(t, rec, http.StatusAccepted)
	if _, err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 {
		t.Fatalf("receiver hit %d times after the replay, want 2", hits.Load())
	}
	wantError(t, s.do(t, "POST", fmt.Sprintf("/api/v1/webhooks/%d/deliveries/999/replay", hook.ID), admin, nil), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, "GET", "/api/v1/webhooks?cursor=bogus", admin, nil), http.StatusBadRequest, "validation_failed")

	want(t, s.do(t, "PATCH", fmt.Sprintf("/api/v1/webhooks/%d", hook.ID), admin, map[string]any{"active": false}), http.StatusOK)
	want(t, s.do(t, "DELETE", fmt.Sprintf("/api/v1/webhooks/%d", hook.ID), admin, nil), http.StatusNoContent)
	wantError(t, s.do(t, "GET", fmt.Sprintf("/api/v1/webhooks/%d", hook.ID), admin, nil), http.StatusNotFound, "not_found")
}
