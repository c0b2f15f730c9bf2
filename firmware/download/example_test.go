package download_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/carebooth/carebooth/firmware/download"
)

// A booth fetches a bundle with its size cap and the size the release announced, and
// reports progress as it arrives.
func ExampleDownloader_Get() {
	bundle := bytes.Repeat([]byte("x"), 100000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "bundle.tar", time.Unix(0, 0), bytes.NewReader(bundle))
	}))
	defer srv.Close()
	tmp, err := os.MkdirTemp("", "download-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)

	var last download.Progress
	d := download.New(srv.Client(), nil)
	n, err := d.Get(context.Background(), srv.URL+"/bundle.tar", filepath.Join(tmp, "bundle.tar"), download.Options{
		MaxSize:  1 << 20,
		Size:     int64(len(bundle)),
		Progress: func(p download.Progress) { last = p },
	})
	fmt.Println(n, err, last.Done, "of", last.Total)
	// Output:
	// 100000 <nil> 100000 of 100000
}
