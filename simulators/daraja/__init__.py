"""Safaricom Daraja (M-Pesa Express / STK Push) on loopback, for tests, benches and the demo.

    from simulators.daraja import DarajaSimulator
    with DarajaSimulator(approve_after=0.2) as daraja:
        daraja.set_outcome("254708374149", "cancelled")
        daraja.base_url          # point MPESA_BASE_URL here
        daraja.transactions()    # every STK request, its outcome and each callback delivery

Endpoints, with the request and answer shapes Safaricom documents:

- ``GET /oauth/v1/generate?grant_type=client_credentials`` with ``Authorization: Basic base64(key:secret)``
  → ``{"access_token", "expires_in": "3599"}``.
- ``POST /mpesa/stkpush/v1/processrequest`` (Bearer token) with ``BusinessShortCode, Password, Timestamp,
  TransactionType (CustomerPayBillOnline|CustomerBuyGoodsOnline), Amount, PartyA, PartyB, PhoneNumber,
  CallBackURL, AccountReference, TransactionDesc``; ``Password = base64(BusinessShortCode + Passkey +
  Timestamp)`` → ``{"MerchantRequestID", "CheckoutRequestID", "ResponseCode": "0", "ResponseDescription",
  "CustomerMessage"}``. Bad input: 400 ``{"requestId", "errorCode": "400.002.02", "errorMessage": "Bad Request -
  Invalid X"}``; a bad or expired token: 401 ``404.001.03 Invalid Access Token``; a wrong password: 500
  ``500.001.1001 Wrong credentials``.
- ``POST /mpesa/stkpushquery/v1/query`` with ``BusinessShortCode, Password, Timestamp, CheckoutRequestID``:
  while the customer has not answered, 500 ``500.001.1001 The transaction is being processed``; then
  ``{"ResponseCode": "0", "ResponseDescription", "MerchantRequestID", "CheckoutRequestID", "ResultCode",
  "ResultDesc"}`` (codes as strings, as Daraja sends them).
- The callback POSTed to ``CallBackURL`` (loopback only): ``{"Body": {"stkCallback": {"MerchantRequestID",
  "CheckoutRequestID", "ResultCode", "ResultDesc", "CallbackMetadata": {"Item": [{"Name": "Amount", "Value":
  1.0}, {"Name": "MpesaReceiptNumber", ...}, {"Name": "TransactionDate", "Value": 20191219102115}, {"Name":
  "PhoneNumber", "Value": 254708374149}]}}}}`` (no ``CallbackMetadata`` when the payment failed).

Outcomes (per phone number, or the default for all; Python API or ``POST /simulator/outcomes``):
:data:`OUTCOMES`. ``approve_after`` (seconds) is how long the customer takes to answer the prompt.
"""

from __future__ import annotations

from simulators.daraja.server import (
    OUTCOMES,
    RESULT_CODES,
    SANDBOX_PASSKEY,
    SANDBOX_SHORTCODE,
    DarajaSimulator,
    stk_password,
)

__all__ = ["OUTCOMES", "RESULT_CODES", "SANDBOX_PASSKEY", "SANDBOX_SHORTCODE", "DarajaSimulator", "stk_password"]
