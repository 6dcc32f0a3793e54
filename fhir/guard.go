package fhir

import (
	"context"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// guard runs before routing and authentication. For every request it
// refuses unclean paths (400, rather than ServeMux's bare redirect, which
// would echo the path) and bodies announced larger than MaxBodyBytes (413
// before a byte of the body is read), and puts the per-request deadline on
// the context. Under LocalOnly (--auth none, where the only protection is
// that the server listens on loopback) it also refuses what a web page in a
// browser could send it: a Host that is not the server's own (DNS
// rebinding), an Origin of another site or Sec-Fetch-Site cross-site, and a
// body without a FHIR or JSON Content-Type (text/plain and form posts need
// no CORS preflight, application/fhir+json does).
func (s *Server) guard(next http.Handler) http.Handler {
	hosts := s.allowedHosts()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.check(r, hosts); err != nil {
			if err.Status == http.StatusRequestEntityTooLarge {
				w.Header().Set("Connection", "close")
			}
			writeError(w, err)
			return
		}
		if s.opts.RequestTimeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// check returns the first rule r breaks, or nil.
func (s *Server) check(r *http.Request, hosts map[string]bool) *Error {
	if !cleanPath(r.URL.Path) {
		return invalid(fm.IssueTypeInvalid, "the request path is not in canonical form (no '.', '..' or empty segments); send the clean path")
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return badRequest(http.StatusRequestEntityTooLarge, fm.IssueTypeTooLong,
			"request body of %d bytes is larger than the %d accepted", r.ContentLength, s.opts.MaxBodyBytes)
	}
	if !s.opts.LocalOnly {
		return nil
	}
	if !hosts[strings.ToLower(r.Host)] {
		return &Error{Status: http.StatusForbidden, Code: fm.IssueTypeForbidden, Err: ErrBadRequest,
			Diagnostics: "the Host header does not name this server; without authentication only requests addressed to its own address are served"}
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, hosts) {
		return &Error{Status: http.StatusForbidden, Code: fm.IssueTypeForbidden, Err: ErrBadRequest,
			Diagnostics: "cross-origin requests are refused when the server runs without authentication"}
	}
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return &Error{Status: http.StatusForbidden, Code: fm.IssueTypeForbidden, Err: ErrBadRequest,
			Diagnostics: "cross-site requests are refused when the server runs without authentication"}
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if !fhirContentType(r.Header.Get("Content-Type")) {
			return badRequest(http.StatusUnsupportedMediaType, fm.IssueTypeNotSupported,
				"a request body needs Content-Type application/fhir+json (or application/json) when the server runs without authentication")
		}
	}
	return nil
}

// cleanPath reports whether p is what ServeMux would not redirect: no
// ".", ".." or empty segments (a trailing slash is allowed).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// fhirContentType accepts the FHIR and JSON media types (and FHIR XML,
// which is not simple-request safe either).
func fhirContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/fhir+json", "application/json", "application/json+fhir", "application/fhir+xml", "application/xml":
		return true
	}
	return false
}

// sameOrigin reports whether an Origin header names one of the server's
// own hosts.
func sameOrigin(origin string, hosts map[string]bool) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return hosts[strings.ToLower(u.Host)]
}

// allowedHosts are the Host values LocalOnly accepts: Options.AllowedHosts
// and the host of BaseURL, each also without a default port.
func (s *Server) allowedHosts() map[string]bool {
	m := map[string]bool{}
	add := func(h string) {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			return
		}
		m[h] = true
		if host, port, err := net.SplitHostPort(h); err == nil && (port == "80" || port == "443") {
			m[host] = true
		}
	}
	for _, h := range s.opts.AllowedHosts {
		add(h)
	}
	if u, err := url.Parse(s.opts.BaseURL); err == nil && u.Host != "" {
		add(u.Host)
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			add(net.JoinHostPort(u.Hostname(), port))
		}
	}
	return m
}

// localBase is the base URL when none is configured: the scheme and the
// address the connection was accepted on — never the Host header, which
// the client controls.
func localBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		return scheme + "://" + a.String()
	}
	return scheme + "://localhost"
}

// LoopbackHosts returns the Host values a server listening on addr
// (host:port) answers to under LocalOnly: addr itself and, for a loopback
// address, "localhost:port".
func LoopbackHosts(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	out := []string{net.JoinHostPort(host, port)}
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		out = append(out, net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port))
		if ip != nil && ip.To4() == nil {
			out = append(out, net.JoinHostPort("::1", port))
		}
	}
	return out
}
