package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/notify"
)

type webhookRequest struct {
	Site         *string   `json:"site"`
	URL          *string   `json:"url"`
	Events       *[]string `json:"events"`
	AllowPrivate *bool     `json:"allow_private"`
	Active       *bool     `json:"active"`
}

func (r webhookRequest) endpoint() notify.Endpoint {
	return notify.Endpoint{SiteID: r.Site, URL: r.URL, Events: r.Events, AllowPrivate: r.AllowPrivate, Active: r.Active}
}

// webhookView shows the signing secret: only admins read webhooks.
type webhookView struct {
	ID           uint      `json:"id"`
	Site         string    `json:"site"`
	URL          string    `json:"url"`
	Events       []string  `json:"events"`
	Secret       string    `json:"secret"`
	AllowPrivate bool      `json:"allow_private"`
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func newWebhookView(w *models.Webhook) webhookView {
	return webhookView{ID: w.ID, Site: w.SiteID, URL: w.URL, Events: strings.Split(w.Events, ","), Secret: w.Secret,
		AllowPrivate: w.AllowPrivate, Active: w.Active, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
}

type webhookEnvelope struct {
	Webhook webhookView `json:"webhook"`
}

type deliveryView struct {
	ID          string     `json:"id"`
	MessageID   string     `json:"message_id"`
	Event       string     `json:"event"`
	CommentID   *uint      `json:"comment_id"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAt      *time.Time `json:"next_attempt_at"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Payload     string     `json:"payload"`
}

func newDeliveryView(d *models.WebhookDelivery) deliveryView {
	v := deliveryView{ID: strconv.FormatUint(d.ID, 10), MessageID: d.MessageID, Event: d.Kind, State: d.State, Attempts: d.Attempts,
		LastStatus: d.LastCode, LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(), DeliveredAt: utc(d.DeliveredAt), Payload: d.Payload}
	if d.CommentID != 0 {
		v.CommentID = &d.CommentID
	}
	if d.State == models.DeliveryPending {
		v.NextAt = utc(&d.NextAt)
	}
	return v
}

// GET /api/v1/webhooks
func (h *handler) listWebhooks(c echo.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	page, err := notify.Webhooks(c.Request().Context(), h.store, c.QueryParam("site"), limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	out := struct {
		Items      []webhookView `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}{Items: make([]webhookView, len(page.Items)), NextCursor: cursorOrNil(page.NextCursor)}
	for i := range page.Items {
		out.Items[i] = newWebhookView(&page.Items[i])
	}
	return c.JSON(http.StatusOK, out)
}

// POST /api/v1/webhooks
func (h *handler) createWebhook(c echo.Context) error {
	var req webhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	w, err := notify.CreateWebhook(c.Request().Context(), h.store, req.endpoint(), h.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, webhookEnvelope{newWebhookView(w)})
}

// GET /api/v1/webhooks/:id
func (h *handler) getWebhook(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	w, err := notify.Webhook(c.Request().Context(), h.store, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookEnvelope{newWebhookView(w)})
}

// PATCH /api/v1/webhooks/:id
func (h *handler) updateWebhook(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	w, err := notify.UpdateWebhook(c.Request().Context(), h.store, id, req.endpoint(), h.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookEnvelope{newWebhookView(w)})
}

// DELETE /api/v1/webhooks/:id
func (h *handler) deleteWebhook(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := notify.DeleteWebhook(c.Request().Context(), h.store, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// GET /api/v1/webhooks/:id/deliveries
func (h *handler) listDeliveries(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	page, err := notify.Deliveries(c.Request().Context(), h.store, id, limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	out := struct {
		Items      []deliveryView `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}{Items: make([]deliveryView, len(page.Items)), NextCursor: cursorOrNil(page.NextCursor)}
	for i := range page.Items {
		out.Items[i] = newDeliveryView(&page.Items[i])
	}
	return c.JSON(http.StatusOK, out)
}

// POST /api/v1/webhooks/:id/deliveries/:delivery/replay
func (h *handler) replayDelivery(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	did, err := strconv.ParseUint(c.Param("delivery"), 10, 63)
	if err != nil || did == 0 {
		return fault.New(fault.NotFound, "not found")
	}
	d, err := notify.Replay(c.Request().Context(), h.store, id, did, h.cfg.Now())
	if err != nil {
		return err
	}
	if h.cfg.Webhooks != nil {
		h.cfg.Webhooks.Wake()
	}
	return c.JSON(http.StatusAccepted, struct {
		Delivery deliveryView `json:"delivery"`
	}{newDeliveryView(d)})
}
