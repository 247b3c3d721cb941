package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends mail through one SMTP server, as PARLEY_SMTP_URL names it:
// smtp://user:pass@host:587 speaks STARTTLS and refuses a server that does
// not offer it; smtps://user:pass@host:465 is TLS from the first byte.
type SMTP struct {
	host, user, pass string
	port             int
	implicitTLS      bool
	tls              *tls.Config
	from             string
}

// NewSMTP checks the URL and the From address. tlsConfig may be nil (the
// system's roots, the URL's host as server name); tests pass their own CA.
func NewSMTP(rawURL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("PARLEY_SMTP_URL: want smtp://user:pass@host:port or smtps://…")
	}
	s := &SMTP{host: u.Hostname(), tls: tlsConfig}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return nil, fmt.Errorf("PARLEY_SMTP_URL: scheme %q is neither smtp (STARTTLS) nor smtps (implicit TLS)", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("PARLEY_SMTP_URL: bad port %q", p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_MAIL_FROM: %q is not an address like \"Blog comments <comments@blog.example>\"", from)
	}
	s.from = a.String()
	if s.tls == nil {
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	s.tls = s.tls.Clone()
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	return s, nil
}

// outgoing is a message on its way, with the Message-ID it keeps across
// retries so that a receiver can recognize a resend.
type outgoing struct {
	messageID string
	Message
}

// send delivers a batch over one connection and returns one error per
// message (nil: accepted by the server). A failed connection fails them all.
func (s *SMTP) send(ctx context.Context, batch []outgoing) []error {
	errs := make([]error, len(batch))
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTLSConfig(s.tls), gomail.WithTimeout(20 * time.Second)}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err == nil {
		err = client.DialWithContext(ctx)
	}
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("connect to %s:%d: %w", s.host, s.port, err)
		}
		return errs
	}
	defer client.Close()
	for i, o := range batch {
		m, err := s.compose(o)
		if err == nil {
			err = client.Send(m)
		}
		errs[i] = err
	}
	return errs
}

func (s *SMTP) compose(o outgoing) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(s.from); err != nil {
		return nil, err
	}
	if err := m.To(o.To); err != nil {
		return nil, err
	}
	m.Subject(o.Subject) // encoded by the library (RFC 2047), never raw
	m.SetMessageIDWithValue(o.messageID)
	m.SetDate()
	for k, v := range o.Headers {
		m.SetGenHeader(gomail.Header(k), v)
	}
	m.SetBodyString(gomail.TypeTextPlain, o.Text)
	if o.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, o.HTML)
	}
	return m, nil
}

// domain is the From address's domain, for Message-IDs.
func (s *SMTP) domain() string {
	a, _ := netmail.ParseAddress(s.from)
	for i := len(a.Address) - 1; i >= 0; i-- {
		if a.Address[i] == '@' {
			return a.Address[i+1:]
		}
	}
	return "parley.invalid"
}
