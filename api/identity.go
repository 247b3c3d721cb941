package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/models"
)

type emailRequest struct {
	Email string `json:"email"`
}

type tokenRequest struct {
	Token string `json:"token"`
}

type resetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

type acceptedView struct {
	Message string `json:"message"`
}

// sentIfAny is the one answer to a request for a link by mail: it says the
// same whether or not the address has an account.
var sentIfAny = acceptedView{Message: "if an account has this address, a link is on its way"}

// POST /api/v1/auth/email-verification: mail the signed-in user a new link.
func (h *handler) resendVerification(c echo.Context) error {
	if err := h.identity.SendVerification(c.Request().Context(), currentUser(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, acceptedView{Message: "a confirmation link is on its way, unless the address is confirmed already"})
}

// PUT /api/v1/me/email: move the account to a new address once it is confirmed.
func (h *handler) changeEmail(c echo.Context) error {
	var req emailRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.identity.ChangeEmail(c.Request().Context(), currentUser(c), req.Email); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, acceptedView{Message: "open the link we sent to the new address to confirm it; until then the old one stays"})
}

// POST /api/v1/auth/magic-link
func (h *handler) requestSignIn(c echo.Context) error {
	var req emailRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.identity.RequestSignIn(c.Request().Context(), req.Email); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, sentIfAny)
}

// POST /api/v1/auth/magic-link/redeem
func (h *handler) redeemSignIn(c echo.Context) error {
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := h.identity.RedeemSignIn(c.Request().Context(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSessionView(s))
}

// POST /api/v1/auth/password-reset
func (h *handler) requestReset(c echo.Context) error {
	var req emailRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.identity.RequestReset(c.Request().Context(), req.Email); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, sentIfAny)
}

// POST /api/v1/auth/password-reset/redeem
func (h *handler) redeemReset(c echo.Context) error {
	var req resetRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.identity.RedeemReset(c.Request().Context(), req.Token, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// offerGuestVerification mails a guest who gave an address a link to
// confirm it, which lets their comments count toward trust. The comment is
// stored either way, so a failure here is only logged.
func (h *handler) offerGuestVerification(c echo.Context, cm *models.Comment) {
	if cm.AuthorID != nil || cm.GuestEmail == "" || !h.cfg.Mail {
		return
	}
	if err := h.identity.SendGuestVerification(c.Request().Context(), cm.GuestEmail); err != nil {
		h.log.Warn("queue guest verification mail", "comment", cm.ID, "err", err)
	}
}

type flowView struct {
	AuthorizeURL string `json:"authorize_url"`
	FlowSecret   string `json:"flow_secret"`
}

type completeRequest struct {
	FlowSecret string `json:"flow_secret"`
}

type identityView struct {
	ID        uint      `json:"id"`
	Provider  string    `json:"provider"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

type identitiesView struct {
	Items []identityView `json:"items"`
}

// POST /api/v1/auth/providers/:provider/flows: begin a sign-in (or, with a
// token, the linking of another provider) in a popup.
func (h *handler) startProviderFlow(c echo.Context) error {
	st, err := h.identity.StartLogin(c.Request().Context(), c.Param("provider"), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, flowView{AuthorizeURL: st.AuthorizeURL, FlowSecret: st.Secret})
}

// POST /api/v1/auth/providers/complete: collect the login of a finished flow.
func (h *handler) completeProviderFlow(c echo.Context) error {
	var req completeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := h.identity.CompleteLogin(c.Request().Context(), req.FlowSecret)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSessionView(s))
}

// POST /api/v1/auth/identities/confirm: the owner of an account confirms,
// from the mail, that an outside account may sign in to it.
func (h *handler) confirmIdentityLink(c echo.Context) error {
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := h.identity.ConfirmLink(c.Request().Context(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSessionView(s))
}

// GET /api/v1/me/identities
func (h *handler) listIdentities(c echo.Context) error {
	ids, err := h.identity.Identities(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	v := identitiesView{Items: make([]identityView, len(ids))}
	for i, id := range ids {
		v.Items[i] = identityView{ID: id.ID, Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt.UTC()}
	}
	return c.JSON(http.StatusOK, v)
}

// DELETE /api/v1/me/identities/:id
func (h *handler) unlinkIdentity(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.identity.Unlink(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
