// Package mail is Parley's outgoing mail: a durable outbox table that
// callers write to inside their own transaction, and a worker that sends it
// through SMTP with retries. Nobody else talks SMTP.
package mail

import (
	"encoding/json"
	"errors"
	"fmt"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
)

// Message is one e-mail to one recipient. Text is required; HTML, when set,
// becomes the alternative part. Headers are extra header fields such as
// List-Unsubscribe; the ones the sender owns (From, To, Subject, Date, …)
// cannot be set here.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Headers map[string]string
}

// ErrInvalid means a message cannot be sent as given: a malformed address,
// a header that is not ours to set, or a value that could break out of its
// header line.
var ErrInvalid = errors.New("invalid mail message")

// fieldName is an RFC 5322 header field name as we allow it: letters,
// digits and hyphens, which also keeps ':' and line breaks out.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,75}$`)

// reservedHeaders are set by the sender from the message's fields or its own
// configuration; letting a caller set them would let it spoof the sender or
// add recipients.
var reservedHeaders = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true, "return-path": true,
	"received": true, "content-type": true, "content-transfer-encoding": true,
	"dkim-signature": true,
}

// Enqueue validates m and writes it to the outbox in the caller's
// transaction, so the mail goes out if and only if the caller's change
// commits. The worker sends it later; Enqueue never talks to a mail server.
func Enqueue(tx *gorm.DB, m Message) error {
	row, err := newRow(m, time.Now().UTC())
	if err != nil {
		return err
	}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

func newRow(m Message, now time.Time) (models.MailOutboxRow, error) {
	to, err := cleanAddress(m.To)
	if err != nil {
		return models.MailOutboxRow{}, err
	}
	if strings.TrimSpace(m.Text) == "" {
		return models.MailOutboxRow{}, fmt.Errorf("%w: empty text part", ErrInvalid)
	}
	headers := map[string]string{}
	for k, v := range m.Headers {
		if !fieldName.MatchString(k) || reservedHeaders[strings.ToLower(k)] {
			return models.MailOutboxRow{}, fmt.Errorf("%w: header %q may not be set", ErrInvalid, k)
		}
		if strings.ContainsAny(v, "\r\n\x00") || len(v) > 900 {
			return models.MailOutboxRow{}, fmt.Errorf("%w: header %s: line breaks or over 900 bytes", ErrInvalid, k)
		}
		headers[k] = v
	}
	hj, err := json.Marshal(headers)
	if err != nil {
		return models.MailOutboxRow{}, err
	}
	return models.MailOutboxRow{Recipient: to, Subject: cleanSubject(m.Subject), TextBody: m.Text, HTMLBody: m.HTML,
		Headers: string(hj), NextAttemptAt: now, CreatedAt: now}, nil
}

// cleanAddress accepts one bare address (no display name: those are ours to
// choose) and returns it as parsed.
func cleanAddress(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00") || len(s) > 254 {
		return "", fmt.Errorf("%w: bad recipient", ErrInvalid)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != strings.TrimSpace(s) {
		return "", fmt.Errorf("%w: bad recipient %q", ErrInvalid, s)
	}
	return a.Address, nil
}

// cleanSubject folds line breaks and other control characters into spaces:
// subjects carry user text (an article's title), which must stay on its line.
func cleanSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && s[cut]&0xc0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
