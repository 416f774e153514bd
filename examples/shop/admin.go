package main

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow"
)

// The admin page sweeps abandoned guests. It has no authentication, so it
// exists only on the embedded fake ZITADEL, answers only requests from this
// machine and from the shop's own pages (every POST also passes the
// cross-origin protection). Against a real ZITADEL, sweep from cron with
// examples/sweep.

type guestRow struct {
	ID           string
	Age          time.Duration // since the guest tag's time
	Idle         time.Duration // since ZITADEL last changed the user
	Items        int
	WouldBeSwept bool // by the run's OlderThan and IdleFor
}

type sweepParams struct {
	OlderThan, IdleFor string
}

// sweepRun is a preview (dry run) or a sweep, kept for Post/Redirect/Get.
type sweepRun struct {
	Params sweepParams
	Report shadow.SweepReport
	Error  string
	At     time.Time
	Guests []guestRow // as listed before the run
}

type adminPage struct {
	Layout layout
	Demo   bool
	Params sweepParams
	Guests []guestRow
	Error  string
	Run    *sweepRun
	RunID  string
}

// adminAllowed reports whether r may use the admin page: the embedded fake
// is running, the client is on this machine, the browser addressed the
// shop by a loopback name or by its base URL's host (a site whose name
// resolves to 127.0.0.1, DNS rebinding, is its own origin and passes the
// other checks), and the request comes from the shop's own pages
// (Sec-Fetch-Site, sent by every current browser).
func (s *shop) adminAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.demo == nil {
		s.errorPage(w, r, http.StatusNotFound, "The admin page exists only with the embedded fake ZITADEL. Against a real instance, sweep from cron: go run ./examples/sweep -older-than 720h.")
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		s.errorPage(w, r, http.StatusForbidden, "The admin page answers only browsers on this machine.")
		return false
	}
	if base, err := url.Parse(s.baseURL); !loopbackHost(r.Host) && (err != nil || !strings.EqualFold(r.Host, base.Host)) {
		s.errorPage(w, r, http.StatusForbidden, "The admin page opens only at localhost or 127.0.0.1. Use the link in the shop's header.")
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	s.errorPage(w, r, http.StatusForbidden, "The admin page opens only from the shop itself. Type its address or use the link in the shop's header.")
	return false
}

// loopbackHost reports whether a Host header names this machine:
// "localhost" or a loopback address, with or without a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return isLocalhost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

func (s *shop) admin(w http.ResponseWriter, r *http.Request) {
	if !s.adminAllowed(w, r) {
		return
	}
	p := adminPage{Layout: s.frame(w, r, "Admin · Shadow shop"), Demo: true,
		Params: sweepParams{OlderThan: "1m", IdleFor: ""}}
	p.Guests = s.guestRows(r, 0, 0)
	render(w, http.StatusOK, "admin", p)
}

// adminSweep runs a preview (POST /admin/preview: a dry run) or a sweep
// (POST /admin/sweep), stores the result and redirects to it, so a reload
// shows the report again instead of sweeping again.
func (s *shop) adminSweep(w http.ResponseWriter, r *http.Request) {
	if !s.adminAllowed(w, r) {
		return
	}
	params := sweepParams{OlderThan: r.PostFormValue("older_than"), IdleFor: r.PostFormValue("idle_for")}
	olderThan, idleFor, problem := parseSweepParams(params)
	if problem != "" {
		p := adminPage{Layout: s.frame(w, r, "Admin · Shadow shop"), Demo: true, Params: params, Error: problem,
			Guests: s.guestRows(r, 0, 0)}
		render(w, http.StatusUnprocessableEntity, "admin", p)
		return
	}
	dryRun := r.URL.Path == "/admin/preview"
	run := sweepRun{Params: params, At: time.Now(), Guests: s.guestRows(r, olderThan, idleFor)}
	// On the embedded fake, guests younger than their cookies may be swept
	// to show the effect at once; a production sweep keeps the default.
	rep, err := s.mgr.Sweep(r.Context(), shadow.SweepOptions{OlderThan: olderThan, IdleFor: idleFor,
		DryRun: dryRun, AllowLiveSessions: true})
	run.Report = rep
	switch {
	case errors.Is(err, shadow.ErrSweepLocked):
		run.Error = "Another sweep is running. Wait for it to finish and look again."
	case err != nil:
		run.Error = "The sweep stopped early; the report shows what it did. Running it again is safe."
	}
	id := randomString()
	s.reports.Put(id, run)
	http.Redirect(w, r, "/admin/report/"+id, http.StatusSeeOther)
}

func (s *shop) adminReport(w http.ResponseWriter, r *http.Request) {
	if !s.adminAllowed(w, r) {
		return
	}
	run, ok := s.reports.Get(r.PathValue("id"))
	if !ok {
		s.redirect(w, r, "/admin", "error", "That report is no longer kept. Run a new preview.")
		return
	}
	title := "Sweep report · Shadow shop"
	if run.Report.DryRun {
		title = "Sweep preview · Shadow shop"
	}
	p := adminPage{Layout: s.frame(w, r, title), Demo: true, Params: run.Params, Run: &run, RunID: r.PathValue("id")}
	p.Guests = s.guestRows(r, 0, 0)
	render(w, http.StatusOK, "report", p)
}

func parseSweepParams(p sweepParams) (olderThan, idleFor time.Duration, problem string) {
	olderThan, err := time.ParseDuration(p.OlderThan)
	if err != nil || olderThan <= 0 {
		return 0, 0, "“Older than” needs a positive duration such as 30s, 10m or 720h."
	}
	if p.IdleFor != "" {
		idleFor, err = time.ParseDuration(p.IdleFor)
		if err != nil || idleFor < 0 {
			return 0, 0, "“Idle for” needs a duration such as 10m, or nothing."
		}
	}
	return olderThan, idleFor, ""
}

// guestRows lists the embedded fake's guests, oldest first, marking those
// a sweep with olderThan and idleFor would delete (olderThan 0: none).
func (s *shop) guestRows(r *http.Request, olderThan, idleFor time.Duration) []guestRow {
	now := s.demo.fake.Now()
	var rows []guestRow
	for _, u := range s.demo.fake.Users() {
		tag, ok := u.Metadata[shadow.DefaultTagKey]
		if !ok {
			continue
		}
		created := u.CreatedAt
		if t, err := time.Parse(time.RFC3339, string(tag)); err == nil {
			created = t
		}
		row := guestRow{ID: u.ID, Age: now.Sub(created), Idle: now.Sub(u.ChangedAt)}
		if c, err := s.store.Get(r.Context(), u.ID); err == nil {
			row.Items = itemCount(c)
		}
		row.WouldBeSwept = olderThan > 0 && row.Age >= olderThan && row.Idle >= idleFor
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Age > rows[j].Age })
	return rows
}
