// Package release provides the vocabulary a firmware rollout is spoken in, shared by the
// switchboard (which announces releases and keeps what devices report) and boothd's
// update loop (which acts on announcements and reports): the Announcement a device
// receives, the Stage it reports, and the Report carrying it. One wire shape, defined
// once (docs/firmware.md, "Rollout").
package release
