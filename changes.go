package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/notify"
)

// changes are the background loops that follow the change log: the bus
// (live streams, the page cache), the fan-out into the outboxes, and the
// webhook sender.
type changes struct {
	bus     *events.Bus
	sender  *notify.Sender
	stop    context.CancelFunc
	stopped sync.WaitGroup
}

// startChanges runs them until parent ends or stop is called. The bus ends
// the live streams when it stops, which would otherwise hold the server's
// Shutdown up until its deadline.
func startChanges(parent context.Context, store *models.Store, log *slog.Logger) *changes {
	ctx, cancel := context.WithCancel(parent)
	c := &changes{bus: events.NewBus(store, log), sender: &notify.Sender{Store: store, Log: log}, stop: cancel}
	fan := &notify.FanOut{Store: store, Bus: c.bus, Log: log, Delivered: c.sender.Wake}
	c.stopped.Add(3)
	go func() {
		defer c.stopped.Done()
		if err := c.bus.Run(ctx); err != nil {
			log.Error("change bus stopped", "err", err)
		}
	}()
	go func() { defer c.stopped.Done(); fan.Run(ctx) }()
	go func() { defer c.stopped.Done(); c.sender.Run(ctx) }()
	return c
}

// close stops the loops and waits for them.
func (c *changes) close() {
	c.stop()
	c.stopped.Wait()
}
