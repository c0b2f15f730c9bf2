package booth

import (
	"encoding/json"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// apptRecord is an appointment as booth.db keeps it since schema 3: the booth's own type,
// so the protocol's signalling.Appointment can change without a migration of every booth.
// Its field names are the ones schema 2 stored (the protocol's, with done and local), so a
// version 2 record reads into it as it is.
type apptRecord struct {
	ID          string    `json:"id"`
	ClinicID    string    `json:"clinic_id"`
	ClinicName  string    `json:"clinic_name,omitempty"`
	ClinicPhone string    `json:"clinic_phone,omitempty"`
	DeviceID    string    `json:"device_id"`
	Patient     string    `json:"patient"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	// Status is the switchboard's, as its last schedule said.
	Status   appointment.Status `json:"status"`
	Done     bool               `json:"done,omitempty"`
	Local    appointment.Status `json:"local,omitempty"`
	EndPress EndPress           `json:"end_press,omitempty"`
}

func recordOf(a *Appointment) apptRecord {
	return apptRecord{
		ID: a.ID, ClinicID: a.ClinicID, ClinicName: a.ClinicName, ClinicPhone: a.ClinicPhone, DeviceID: a.DeviceID,
		Patient: a.Patient, Start: a.Start, End: a.End, Status: a.Status,
		Done: a.Done, Local: a.Local, EndPress: a.EndPress,
	}
}

func (r *apptRecord) appointment() Appointment {
	return Appointment{
		Appointment: signalling.Appointment{
			ID: r.ID, ClinicID: r.ClinicID, ClinicName: r.ClinicName, ClinicPhone: r.ClinicPhone, DeviceID: r.DeviceID,
			Patient: r.Patient, Start: r.Start, End: r.End, Status: r.Status,
		},
		Done: r.Done, Local: r.Local, EndPress: r.EndPress,
	}
}

// migrateRecords upgrades schema 2 to 3: every appointment is written again as an
// apptRecord, which adds End presses (none yet). A record that does not decode is dropped:
// it could not have been read anyway, and the switchboard sends the schedule again on
// connect.
func migrateRecords(tx *bolt.Tx) error {
	b := tx.Bucket(bucketAppts)
	type kv struct{ k, v []byte }
	var rewrite []kv
	var drop [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var r apptRecord
		if json.Unmarshal(v, &r) != nil {
			drop = append(drop, append([]byte(nil), k...))
			return nil
		}
		data, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		rewrite = append(rewrite, kv{append([]byte(nil), k...), data})
		return nil
	})
	if err != nil {
		return err
	}
	// Not inside ForEach: bbolt forbids changing a bucket while iterating over it.
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for _, r := range rewrite {
		if err := b.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}
