package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// entryIDs returns the ids of a list answer.
func entryIDs(out map[string]any) []string {
	var ids []string
	es, _ := out["entries"].([]any)
	for _, e := range es {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	return ids
}

// TestFAQEntriesAPI: editors list, read, change and delete FAQ entries, see
// the knowledge base's problems and try questions; changes are live and
// audited when the API answers, entries of a file with several entries are
// read-only, and no answer names a server path.
func TestFAQEntriesAPI(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("ed@acme.example", data.RoleEditor)
	ed := h.login("ed@acme.example")
	dir := kbDir(t)
	if err := os.WriteFile(filepath.Join(dir, "faq.csv"), []byte("question,similar questions,answer\nDo you sell vouchers?,,Yes: paper vouchers in every store.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.server.cfg.KBDir = dir
	x := openKB(t, dir)
	h.server.kb = x
	const loyalty = "/api/v1/agent/knowledge/entries/loyalty-points"
	steps := []struct {
		name     string
		method   string
		path     string
		body     any
		wantCode int
		wantErr  string
		check    func(out map[string]any) error
	}{
		{"list all", "GET", "/api/v1/agent/knowledge/entries", nil, 200, "", func(out map[string]any) error {
			if ids := entryIDs(out); !slices.Equal(ids, []string{"faq-1", "loyalty-points"}) || out["total"] != 2.0 {
				return fmt.Errorf("ids %v total %v, want faq-1, loyalty-points (sorted) and total 2", ids, out["total"])
			}
			return nil
		}},
		{"filter by question, any case", "GET", "/api/v1/agent/knowledge/entries?q=LOYALTY+points", nil, 200, "", func(out map[string]any) error {
			e := out["entries"].([]any)
			if len(e) != 1 || e[0].(map[string]any)["file"] != "sub/loyalty.md" || e[0].(map[string]any)["editable"] != true {
				return fmt.Errorf("entries %v, want loyalty-points from sub/loyalty.md, editable", e)
			}
			return nil
		}},
		{"filter by answer", "GET", "/api/v1/agent/knowledge/entries?q=paper%20VOUCHERS", nil, 200, "", func(out map[string]any) error {
			if ids := entryIDs(out); !slices.Equal(ids, []string{"faq-1"}) {
				return fmt.Errorf("ids %v, want faq-1", ids)
			}
			return nil
		}},
		{"limit and offset", "GET", "/api/v1/agent/knowledge/entries?limit=1&offset=1", nil, 200, "", func(out map[string]any) error {
			if ids := entryIDs(out); !slices.Equal(ids, []string{"loyalty-points"}) || out["total"] != 2.0 {
				return fmt.Errorf("ids %v total %v, want loyalty-points of 2", ids, out["total"])
			}
			return nil
		}},
		{"bad limit", "GET", "/api/v1/agent/knowledge/entries?limit=0", nil, 400, "bad_request", nil},
		{"get one", "GET", loyalty, nil, 200, "", func(out map[string]any) error {
			if out["answer"] != "Every yuan spent earns one point." || out["skill"] != "default_support" || out["file"] != "sub/loyalty.md" {
				return fmt.Errorf("want the entry's answer, skill and file")
			}
			return nil
		}},
		{"get a CSV entry: read-only, says why", "GET", "/api/v1/agent/knowledge/entries/faq-1", nil, 200, "", func(out map[string]any) error {
			if out["editable"] != false || out["origin"] != "multi_entry_file" || !strings.Contains(fmt.Sprint(out["read_only"]), "faq.csv") {
				return fmt.Errorf("want editable false, origin multi_entry_file and a reason naming faq.csv")
			}
			return nil
		}},
		{"get unknown", "GET", "/api/v1/agent/knowledge/entries/nope", nil, 404, "not_found", nil},
		{"update", "PUT", loyalty, map[string]any{"questions": []string{"How do loyalty points work?", "Call me on 13812345678 about points"}, "answer": "Every yuan spent earns two points.", "skill": "order_support", "tags": []string{"points", " "}}, 200, "", func(out map[string]any) error {
			b, _ := os.ReadFile(filepath.Join(dir, "sub", "loyalty.md"))
			if e, _ := x.Get("loyalty-points"); e.Answer != "Every yuan spent earns two points." {
				return fmt.Errorf("live answer %q when the API answered", e.Answer)
			}
			if !strings.Contains(string(b), "two points") || !strings.Contains(string(b), "[PHONE]") || strings.Contains(string(b), "13812345678") || !strings.Contains(string(b), "skill: order_support") {
				return fmt.Errorf("sub/loyalty.md = %q, want the new answer and skill, the phone number masked", b)
			}
			if out["file"] != "sub/loyalty.md" || out["editable"] != true {
				return fmt.Errorf("want file sub/loyalty.md, editable")
			}
			return nil
		}},
		{"update a CSV entry", "PUT", "/api/v1/agent/knowledge/entries/faq-1", map[string]any{"questions": []string{"Vouchers?"}, "answer": "Yes."}, 409, "read_only_entry", nil},
		{"update with another entry's question", "PUT", loyalty, map[string]any{"questions": []string{"do you sell VOUCHERS"}, "answer": "A."}, 409, "duplicate_question", nil},
		{"update with an unknown skill", "PUT", loyalty, map[string]any{"questions": []string{"Points?"}, "answer": "A.", "skill": "nosuchgroup"}, 400, "unknown_skill", nil},
		{"update without an answer", "PUT", loyalty, map[string]any{"questions": []string{"Points?"}, "answer": " "}, 400, "bad_request", nil},
		{"update unknown", "PUT", "/api/v1/agent/knowledge/entries/nope", map[string]any{"questions": []string{"Points?"}, "answer": "A."}, 404, "not_found", nil},
		{"try: answered", "POST", "/api/v1/agent/knowledge/try", map[string]any{"text": "How do loyalty points work?"}, 200, "", func(out map[string]any) error {
			rs := out["results"].([]any)
			if out["verdict"] != "answer" || len(rs) == 0 || rs[0].(map[string]any)["id"] != "loyalty-points" || rs[0].(map[string]any)["answer"] != "Every yuan spent earns two points." {
				return fmt.Errorf("want verdict answer with loyalty-points and its new answer first")
			}
			return nil
		}},
		{"try: not answered", "POST", "/api/v1/agent/knowledge/try", map[string]any{"text": "blorp zyxx frobnicate"}, 200, "", func(out map[string]any) error {
			if out["verdict"] != "fallback" {
				return fmt.Errorf("want verdict fallback")
			}
			return nil
		}},
		{"try: no text", "POST", "/api/v1/agent/knowledge/try", map[string]any{"text": ""}, 400, "bad_request", nil},
		{"no problems", "GET", "/api/v1/agent/knowledge/problems", nil, 200, "", func(out map[string]any) error {
			if ps := out["problems"].([]any); len(ps) != 0 {
				return fmt.Errorf("want none")
			}
			return nil
		}},
		{"delete", "DELETE", loyalty, nil, 204, "", func(map[string]any) error {
			if _, ok := x.Get("loyalty-points"); ok {
				return fmt.Errorf("entry still live when the API answered")
			}
			if _, err := os.Stat(filepath.Join(dir, "sub", "loyalty.md")); err == nil {
				return fmt.Errorf("sub/loyalty.md still there")
			}
			return nil
		}},
		{"get deleted", "GET", loyalty, nil, 404, "not_found", nil},
		{"delete again", "DELETE", loyalty, nil, 404, "not_found", nil},
		{"delete a CSV entry", "DELETE", "/api/v1/agent/knowledge/entries/faq-1", nil, 409, "read_only_entry", nil},
	}
	for _, st := range steps {
		code, out := ed.do(st.method, st.path, st.body)
		if code != st.wantCode || st.wantErr != "" && errCode(out) != st.wantErr {
			t.Errorf("%s: %s %s = %d %v, want %d %s", st.name, st.method, st.path, code, out, st.wantCode, st.wantErr)
			continue
		}
		if fmt.Sprint(out) != "map[]" && strings.Contains(fmt.Sprint(out), dir) {
			t.Errorf("%s: %s %s = %v names the server's directory %s", st.name, st.method, st.path, out, dir)
		}
		if st.check != nil {
			if err := st.check(out); err != nil {
				t.Errorf("%s: %s %s = %v: %v", st.name, st.method, st.path, out, err)
			}
		}
	}

	// A file that does not parse shows up in the problems, relative to the directory.
	if err := os.WriteFile(filepath.Join(dir, "sub", "broken.md"), []byte("id: no front matter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, out := ed.do("GET", "/api/v1/agent/knowledge/problems", nil)
	ps, _ := out["problems"].([]any)
	if code != 200 || len(ps) != 1 || ps[0].(map[string]any)["file"] != "sub/broken.md" || !strings.Contains(fmt.Sprint(ps[0].(map[string]any)["message"]), "front matter") || strings.Contains(fmt.Sprint(out), dir) {
		t.Errorf("GET knowledge/problems after writing sub/broken.md = %d %v, want one problem in sub/broken.md about front matter, no server path", code, out)
	}

	// Every change is in the audit log, with who made it.
	audit, err := h.store.ListAudit(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		got = append(got, a.Action+" "+a.Target)
	}
	for _, want := range []string{"update_faq_entry faq:loyalty-points", "delete_faq_entry faq:loyalty-points"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit log = %q, want %q", got, want)
		}
	}
	if slices.Contains(got, "update_faq_entry faq:faq-1") || slices.Contains(got, "delete_faq_entry faq:nope") {
		t.Errorf("audit log = %q records changes refused as read-only or not found", got)
	}
}

// TestFAQEntriesAccess: editors and admins may use the knowledge routes,
// agents may not; without a live index the routes answer 503.
func TestFAQEntriesAccess(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("ed@acme.example", data.RoleEditor)
	h.newAgent("boss@acme.example", data.RoleAdmin)
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	dir := kbDir(t)
	h.server.cfg.KBDir = dir
	h.server.kb = openKB(t, dir)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/agent/knowledge/entries"},
		{"GET", "/api/v1/agent/knowledge/entries/loyalty-points"},
		{"PUT", "/api/v1/agent/knowledge/entries/loyalty-points"},
		{"GET", "/api/v1/agent/knowledge/problems"},
		{"POST", "/api/v1/agent/knowledge/try"},
		{"DELETE", "/api/v1/agent/knowledge/entries/loyalty-points"},
	}
	body := map[string]any{"questions": []string{"How do loyalty points work?"}, "answer": "Ask us.", "text": "points"}
	for _, who := range []struct {
		email string
		want  func(code int) bool
	}{
		{"mei@acme.example", func(code int) bool { return code == http.StatusForbidden }},
		{"ed@acme.example", func(code int) bool { return code < 300 }},
	} {
		c := h.login(who.email)
		for _, r := range routes {
			if code, out := c.do(r.method, r.path, body); !who.want(code) {
				t.Errorf("%s: %s %s = %d %v", who.email, r.method, r.path, code, out)
			}
		}
	}
	h.server.kb = nil
	admin := h.login("boss@acme.example")
	for _, r := range routes {
		if code, out := admin.do(r.method, r.path, body); code != http.StatusServiceUnavailable || errCode(out) != "knowledge_unavailable" {
			t.Errorf("admin without a live index: %s %s = %d %v, want 503 knowledge_unavailable", r.method, r.path, code, out)
		}
	}
}
