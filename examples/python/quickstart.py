"""Sign events into a log, hand out a receipt, verify it offline (README example)."""
import tempfile
from pathlib import Path

import evidentia

key = evidentia.SigningKey.generate()
with tempfile.TemporaryDirectory() as tmp, evidentia.Log.create(Path(tmp) / "payments", key, log_id="example.com/payments") as log:
    receipt = log.append({"type": "payment.approved", "amount": "1250.00", "currency": "EUR"})
    salt = log.salt(0)  # the record commits to its event under this salt: keep it with the receipt
    report = evidentia.verify_receipt(receipt, key.public_jwk(), event={"currency": "EUR", "amount": "1250.00", "type": "payment.approved"}, salt=salt)
    print(report.summary)  # VALID: receipt, all 4 checks passed
    assert report.valid and log.verify().valid
