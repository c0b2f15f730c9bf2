package netwatch

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Watch starts watching rtnetlink for address, link and route changes.
func Watch() (*Watcher, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netwatch: netlink socket: %w", err)
	}
	groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR |
		unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netwatch: bind netlink: %w", err)
	}
	// Reads wake every half second, so that Close is noticed without closing the fd under a
	// blocked read.
	tv := unix.NsecToTimeval((500 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netwatch: netlink timeout: %w", err)
	}
	c := make(chan struct{}, 1)
	w := &Watcher{C: c, done: make(chan struct{})}
	var once sync.Once
	quit := make(chan struct{})
	w.stop = func() error {
		once.Do(func() { close(quit) })
		return nil
	}
	go func() {
		defer close(w.done)
		defer unix.Close(fd)
		buf := make([]byte, 32<<10)
		var pending bool
		var since time.Time
		for {
			select {
			case <-quit:
				return
			default:
			}
			n, _, err := unix.Recvfrom(fd, buf, 0)
			switch {
			case err == nil && n > 0 && relevant(buf[:n]):
				if !pending {
					pending, since = true, time.Now()
				}
			case err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.ENOBUFS):
				return // the socket is gone; nothing more will come
			case errors.Is(err, unix.ENOBUFS):
				// The kernel dropped messages: something changed.
				pending, since = true, time.Now()
			}
			if pending && time.Since(since) >= Settle {
				pending = false
				select {
				case c <- struct{}{}:
				default:
				}
			}
			if pending {
				// Wait out the burst with a short read timeout.
				short := unix.NsecToTimeval(Settle.Nanoseconds() / 2)
				unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &short)
			} else {
				unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
			}
		}
	}()
	return w, nil
}

// relevant reports whether a netlink datagram holds a change of address, link or route.
func relevant(b []byte) bool {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return true // unreadable: assume it mattered
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_NEWADDR, unix.RTM_DELADDR, unix.RTM_NEWLINK, unix.RTM_DELLINK, unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
			return true
		}
	}
	return false
}
