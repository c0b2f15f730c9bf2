package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The bbolt store's fleet records: device settings and the push queue, remote config
// documents and reports, and firmware releases.

func (s *Bolt) SetDeviceSettings(id string, set DeviceSettings, now time.Time) (Device, Push, error) {
	if err := validateSettings(set); err != nil {
		return Device{}, Push{}, err
	}
	var (
		d Device
		p Push
	)
	err := s.updateDevice(id, func(tx *bolt.Tx, dev *Device) error {
		dev.JoinMode = set.JoinMode
		body, err := json.Marshal(set)
		if err != nil {
			return err
		}
		b := tx.Bucket(bktPushes)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		p = Push{Seq: seq, DeviceID: id, Type: PushSettings, Body: body, Queued: now.UTC()}
		d = *dev
		return putJSON(b, string(seqKey(id, seq)), &p)
	})
	if err != nil {
		return Device{}, Push{}, err
	}
	return d, p, nil
}

func (s *Bolt) Pushes(deviceID string) ([]Push, error) {
	out := []Push{}
	prefix := append([]byte(deviceID), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktPushes).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p Push
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode push for %s: %w", deviceID, err)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func (s *Bolt) AckPushes(deviceID string, seq uint64) error {
	prefix := append([]byte(deviceID), 0)
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktPushes).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if binary.BigEndian.Uint64(k[len(prefix):]) > seq {
				return nil
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Bolt) QueuePush(deviceID, typ string, body []byte, replace bool, now time.Time) (Push, error) {
	var p Push
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktDevices), deviceID, &Device{}, "device"); err != nil {
			return err
		}
		b := tx.Bucket(bktPushes)
		if replace {
			prefix := append([]byte(deviceID), 0)
			var old [][]byte
			c := b.Cursor()
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				var q Push
				if err := json.Unmarshal(v, &q); err != nil {
					return fmt.Errorf("decode push for %s: %w", deviceID, err)
				}
				if q.Type == typ {
					old = append(old, bytes.Clone(k))
				}
			}
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		p = Push{Seq: seq, DeviceID: deviceID, Type: typ, Body: bytes.Clone(body), Queued: now.UTC()}
		return putJSON(b, string(seqKey(deviceID, seq)), &p)
	})
	if err != nil {
		return Push{}, err
	}
	return p, nil
}

func (s *Bolt) PutConfigDoc(d ConfigDoc) (ConfigDoc, error) {
	if _, err := ParseConfigScope(string(d.Scope)); err != nil {
		return ConfigDoc{}, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktConfigDocs)
		var prev ConfigDoc
		if err := getJSON(b, string(d.Scope), &prev, "config"); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		d.Version = prev.Version + 1
		d.UpdatedAt = d.UpdatedAt.UTC()
		return putJSON(b, string(d.Scope), &d)
	})
	if err != nil {
		return ConfigDoc{}, err
	}
	return d, nil
}

func (s *Bolt) ConfigDoc(scope ConfigScope) (ConfigDoc, error) {
	var d ConfigDoc
	err := s.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bktConfigDocs), string(scope), &d, "config")
	})
	return d, err
}

func (s *Bolt) SetDeviceConfigStatus(id string, st ConfigStatus) (Device, error) {
	var d Device
	err := s.updateDevice(id, func(_ *bolt.Tx, dev *Device) error {
		dev.ConfigVersion, dev.ConfigError = st.Version, st.Error
		d = *dev
		return nil
	})
	return d, err
}

func (s *Bolt) CreateRelease(r *Release) error {
	if err := validateRelease(r); err != nil {
		return err
	}
	if r.ID == "" {
		r.ID = NewID()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktReleases)
		if b.Get([]byte(r.ID)) != nil {
			return fmt.Errorf("release %s: %w", r.ID, ErrConflict)
		}
		return putJSON(b, r.ID, r)
	})
}

func (s *Bolt) Release(id string) (Release, error) {
	var r Release
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bktReleases), id, &r, "release") })
	return r, err
}

func (s *Bolt) Releases() ([]Release, error) {
	out := []Release{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktReleases).ForEach(func(k, v []byte) error {
			var r Release
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode release %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	sortReleases(out)
	return out, err
}

func (s *Bolt) UpdateRelease(id string, fn func(*Release) error) (Release, error) {
	var r Release
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktReleases)
		if err := getJSON(b, id, &r, "release"); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		r.ID = id
		if err := validateRelease(&r); err != nil {
			return err
		}
		return putJSON(b, id, &r)
	})
	if err != nil {
		return Release{}, err
	}
	return r, nil
}
