package identity

import (
	"bytes"
	"html/template"

	texttemplate "text/template"

	"github.com/parley-comments/parley/mail"
)

// notice is one of the mails this package sends: a few lines of text and
// one link, as text and as HTML (html/template escapes the link).
type notice struct {
	Subject string
	Intro   string
	Action  string // the link's label in the HTML part
	Link    string
	Outro   string
}

var (
	textMail = texttemplate.Must(texttemplate.New("text").Parse(`{{.Intro}}

{{.Link}}

{{.Outro}}
`))
	htmlMail = template.Must(template.New("html").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
<p>{{.Intro}}</p>
<p><a href="{{.Link}}">{{.Action}}</a></p>
<p style="color:#555">{{.Outro}}</p>
</body></html>
`))
)

func (n notice) message(to string) mail.Message {
	var text, html bytes.Buffer
	_ = textMail.Execute(&text, n) // fixed templates over strings: cannot fail
	_ = htmlMail.Execute(&html, n)
	return mail.Message{To: to, Subject: n.Subject, Text: text.String(), HTML: html.String()}
}

func verifyNotice(link string) notice {
	return notice{Subject: "Confirm your email address",
		Intro:  "Open this link to confirm that this address is yours:",
		Action: "Confirm my address", Link: link,
		Outro: "The link works for 24 hours. If you did not ask for this, ignore this mail: nothing changes."}
}

func signInNotice(link string) notice {
	return notice{Subject: "Your sign-in link",
		Intro:  "Open this link and press the button to sign in:",
		Action: "Sign in", Link: link,
		Outro: "The link works once, for 20 minutes. If you did not ask for it, ignore this mail: nobody can sign in without it."}
}

func resetNotice(link string) notice {
	return notice{Subject: "Choose a new password",
		Intro:  "Open this link to choose a new password:",
		Action: "Choose a new password", Link: link,
		Outro: "The link works once, for 30 minutes. If you did not ask for it, ignore this mail: your password stays as it is."}
}

func linkNotice(link, provider string) notice {
	return notice{Subject: "Confirm signing in with " + provider,
		Intro:  "Someone signed in with " + provider + " using this address. Open this link and press the button to let " + provider + " sign you in to your account from now on:",
		Action: "Review and confirm", Link: link,
		Outro: "The link works once, for 30 minutes. If this was not you, ignore this mail: nothing is linked."}
}
