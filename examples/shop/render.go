package main

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net/http"
	"time"

	"github.com/shadowaccounts/shadow"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticRoot embed.FS

// staticFS serves /static/: the stylesheet, the favicon and a few lines of
// progressive enhancement.
var staticFS fs.FS = staticRoot

var funcs = template.FuncMap{
	"money":  money,
	"formID": randomString,
	"human":  human,
	"ms":     func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"until":  func(t time.Time) string { return human(time.Until(t)) },
}

// human writes a duration the way people say it: "45 s", "12 min",
// "3 h 5 min", "2 days".
func human(d time.Duration) string {
	switch {
	case d < 0:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// pages holds one template set per page, each with the shared layout.
var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"home", "register", "invite", "admin", "report", "error"} {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// money formats cents as euros: 1234 → "12.34 €".
func money(cents int) string {
	return fmt.Sprintf("%d.%02d €", cents/100, cents%100)
}

// layout is what every page's frame shows.
type layout struct {
	Title     string
	CartCount int // items, not lines
	Customer  *customer
	Guest     bool // a guest session is open
	Demo      bool // on the embedded fake: the admin link shows
	Flash     *flash
}

// frame fills the layout for r: who is there, the cart count, the flash.
func (s *shop) frame(w http.ResponseWriter, r *http.Request, title string) layout {
	l := layout{Title: title, Customer: s.currentCustomer(r), Demo: s.demo != nil, Flash: s.flash.Take(w, r)}
	_, l.Guest = shadow.SessionFromContext(r.Context())
	if owner := s.owner(r); owner != "" {
		if c, err := s.store.Get(r.Context(), owner); err == nil {
			for _, it := range c.Items {
				l.CartCount += it.Quantity
			}
		}
	}
	return l
}

// owner is whose cart this request sees: the signed-in customer's, else
// the guest's, else nobody's.
func (s *shop) owner(r *http.Request) string {
	if c := s.currentCustomer(r); c != nil {
		return c.UserID
	}
	if sess, ok := shadow.SessionFromContext(r.Context()); ok {
		return sess.GuestID
	}
	return ""
}

// render writes a page with status; a template failure is a 500 with a
// plain message (the page was not sent yet: rendering is buffered).
func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		log.Printf("shop: render %s: %v", name, err)
		http.Error(w, "Sorry, this page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorPage struct {
	Layout  layout
	Status  int
	Message string
}

// errorPage shows message inside the layout with a way back.
func (s *shop) errorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	title := http.StatusText(status)
	render(w, status, "error", errorPage{Layout: s.frame(w, r, title), Status: status, Message: message})
}

// redirect ends a POST (Post/Redirect/Get) with an optional flash.
func (s *shop) redirect(w http.ResponseWriter, r *http.Request, to, kind, text string) {
	if text != "" {
		s.flash.Set(w, kind, text)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func randomString() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// firstSubmit reports whether the form's id is seen for the first time:
// a double click sends the same id twice and is handled once.
func (s *shop) firstSubmit(r *http.Request) bool {
	id := r.PostFormValue("form_id")
	return id == "" || s.forms.Add(id)
}
