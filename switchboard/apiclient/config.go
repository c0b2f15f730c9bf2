package apiclient

import (
	"context"
	"net/url"

	"github.com/carebooth/carebooth/switchboard/api"
)

// Remote config wire types, shared with the server.
type (
	ConfigDocument = api.ConfigDocument
	ConfigPushed   = api.ConfigPushed
)

// PutConfig stores a remote config document for a scope ("fleet", "site/SITE_ID",
// "room/SITE_ID/ROOM", "device/DEVICE_ID") and returns it with the devices it changed.
func (c *Client) PutConfig(ctx context.Context, scope, document string) (ConfigPushed, error) {
	var out ConfigPushed
	err := c.do(ctx, "PUT", "/api/v1/config", nil, api.ConfigPut{Scope: scope, Document: document}, &out)
	return out, err
}

// Config returns a scope's remote config document.
func (c *Client) Config(ctx context.Context, scope string) (ConfigDocument, error) {
	var out ConfigDocument
	err := c.do(ctx, "GET", "/api/v1/config", url.Values{"scope": {scope}}, nil, &out)
	return out, err
}
