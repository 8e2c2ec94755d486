"""POST /v1/webhook-deliveries/{delivery_id}/retry: send again at once (any status); 202, audited."""

from typing import Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.http import answers
from core.http.openapi import documented
from core.resources import Resources
from core.security.verify import MerchantAuth
from core.webhooks.service import retry_delivery

ROLE = "api"


@post(
    "/v1/webhook-deliveries/{delivery_id:str}/retry",
    status_code=202,
    **documented("retryWebhookDelivery", answers.WebhookDelivery),
)
async def retry_webhook_delivery(
    delivery_id: FromPath[str],
    resources: NamedDependency[Resources],
    merchant: NamedDependency[MerchantAuth],
    client_ip: NamedDependency[str],
) -> dict[str, Any]:
    return await retry_delivery(resources, merchant.merchant_id, delivery_id, ip=client_ip)
