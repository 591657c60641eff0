"""Africa's Talking SMS on loopback, for tests, benches and the demo.

    from simulators.africastalking import SmsSimulator
    with SmsSimulator(delivery_url="http://127.0.0.1:5000/sms/delivery/") as at:
        at.base_url          # point SMS_BASE_URL here
        at.messages()        # every message sent, its status, cost and delivery report

``POST /version1/messaging`` (header ``apiKey``, ``Accept: application/json``; form fields ``username``,
``to`` (comma-separated), ``message``, optional ``from``, ``bulkSMSMode``, ``enqueue``) answers 201 with
``{"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000", "Recipients": [{"statusCode": 101,
"number": "+254711XXXYYY", "status": "Success", "cost": "KES 0.8000", "messageId": "ATXid_..."}]}}``; a wrong
``apiKey`` or ``username`` is 401 ``The supplied authentication is invalid``; a missing field is 400.
Delivery reports are POSTed form-encoded to the account's delivery URL (``id``, ``status``, ``phoneNumber``,
``networkCode``, ``retryCount``, ``failureReason`` when it failed), as Africa's Talking does.

Per-number outcomes (:data:`OUTCOMES`): ``delivered`` (default), ``failed`` (report ``Failed``,
``AbsentSubscriber``), ``rejected`` (report ``Rejected``, ``UserInBlacklist``), ``no_report``,
``insufficient_balance`` (send-time status 405) and ``blacklisted`` (send-time status 406).
"""

from __future__ import annotations

from simulators.africastalking.server import OUTCOMES, SmsSimulator

__all__ = ["OUTCOMES", "SmsSimulator"]
