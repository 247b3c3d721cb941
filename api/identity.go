package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
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
