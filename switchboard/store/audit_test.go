package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/switchboard/audit"
)

// TestAuditContract: the audit log of every implementation appends with rising
// sequences, filters, pages by sequence, refuses bad entries and prunes by age only.
func TestAuditContract(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for name, open := range allStores() {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			for i, e := range []audit.Entry{
				{At: t0, ActorKind: audit.ByAnonymous, Actor: "dr.who", Action: audit.LoginFailed, Addr: "192.0.2.1"},
				{At: t0.Add(time.Minute), ActorKind: audit.ByClinician, Actor: "admin", Action: audit.DeviceRevoke, Target: "d1", ClinicID: "c1", Detail: "stolen"},
				{At: t0.Add(2 * time.Minute), ActorKind: audit.ByClinician, Actor: "dr.patel", Action: audit.Admit, Target: "a1", ClinicID: "c2"},
				{At: t0.Add(3 * time.Minute), ActorKind: audit.ByDevice, Actor: "d2", Action: audit.CallEnd, Target: "a1", ClinicID: "c2"},
			} {
				if err := s.AppendAudit(&e); err != nil {
					t.Fatal(err)
				}
				if e.Seq != uint64(i+1) {
					t.Errorf("entry %d: got seq %d, want %d", i, e.Seq, i+1)
				}
			}
			for _, tc := range []struct {
				name string
				q    audit.Query
				want []uint64
			}{
				{"all", audit.Query{}, []uint64{1, 2, 3, 4}},
				{"since", audit.Query{Since: t0.Add(2 * time.Minute)}, []uint64{3, 4}},
				{"action", audit.Query{Action: audit.DeviceRevoke}, []uint64{2}},
				{"clinic", audit.Query{ClinicID: "c2"}, []uint64{3, 4}},
				{"a page", audit.Query{Limit: 2}, []uint64{1, 2}},
				{"the next page", audit.Query{AfterSeq: 2, Limit: 2}, []uint64{3, 4}},
				{"past the end", audit.Query{AfterSeq: 4}, []uint64{}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := s.Audit(tc.q)
					seqs := []uint64{}
					for _, e := range got {
						seqs = append(seqs, e.Seq)
					}
					if err != nil || !reflect.DeepEqual(seqs, tc.want) {
						t.Errorf("got %v, %v, want %v", seqs, err, tc.want)
					}
				})
			}
			if got, _ := s.Audit(audit.Query{Action: audit.DeviceRevoke}); len(got) != 1 || got[0].Detail != "stolen" || got[0].Target != "d1" || !got[0].At.Equal(t0.Add(time.Minute)) {
				t.Errorf("entry read back: got %+v", got)
			}
			for name, e := range map[string]audit.Entry{
				"no time":        {ActorKind: audit.ByClinician, Actor: "a", Action: audit.Login},
				"unknown action": {At: t0, ActorKind: audit.ByClinician, Actor: "a", Action: "delete_everything"},
				"no actor":       {At: t0, Action: audit.Login},
			} {
				if err := s.AppendAudit(&e); !errors.Is(err, ErrInvalid) {
					t.Errorf("%s: got %v, want ErrInvalid", name, err)
				}
			}
			if n, err := s.PruneAudit(t0.Add(2 * time.Minute)); err != nil || n != 2 {
				t.Errorf("prune: got %d, %v, want 2", n, err)
			}
			if got, _ := s.Audit(audit.Query{}); len(got) != 2 || got[0].Seq != 3 {
				t.Errorf("after pruning: got %+v, want entries 3 and 4", got)
			}
			e := audit.Entry{At: t0.Add(time.Hour), ActorKind: audit.ByClinician, Actor: "a", Action: audit.Logout}
			if err := s.AppendAudit(&e); err != nil || e.Seq != 5 {
				t.Errorf("after pruning, the next entry: got seq %d, %v, want 5 (sequences are never reused)", e.Seq, err)
			}
		})
	}
}

// TestStoreHasNoAuditDelete: the store interface offers no way to change or delete one
// audit entry; only PruneAudit, by age, removes any.
func TestStoreHasNoAuditDelete(t *testing.T) {
	st := reflect.TypeFor[Store]()
	for i := range st.NumMethod() {
		m := st.Method(i).Name
		switch m {
		case "AppendAudit", "Audit", "PruneAudit":
			continue
		}
		for _, in := range []reflect.Type{reflect.TypeFor[audit.Entry](), reflect.TypeFor[*audit.Entry](), reflect.TypeFor[audit.Query]()} {
			for j := range st.Method(i).Type.NumIn() {
				if st.Method(i).Type.In(j) == in {
					t.Errorf("Store.%s takes %s: only AppendAudit, Audit and PruneAudit touch the audit log", m, in)
				}
			}
		}
		if (strings.HasPrefix(m, "Delete") || strings.HasPrefix(m, "Update") || strings.HasPrefix(m, "Set")) && strings.Contains(m, "Audit") {
			t.Errorf("Store.%s: the audit log must have no delete or update", m)
		}
	}
}
