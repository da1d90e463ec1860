"""Shopee's own texts: the gateway's common errors and the voucher module's error list, verbatim."""

from __future__ import annotations

from typing import Final

# Common (gateway) messages, verbatim from the spec's common_error_list.
NO_PARTNER_ID = "There is no partner_id in query."
BAD_PARTNER_ID = "Partner_id is invalid, should be an integer between 0 and 4294967295."
NO_TIMESTAMP = "no timestamp"
BAD_TIMESTAMP = "Timestamp is invalid, should be an integer between 0 and 4294967295."
EXPIRED_TIMESTAMP = "Timestamp is expired."
INVALID_TIMESTAMP = "Invalid timestamp"
NO_SIGN = "There is no sign in query."
WRONG_SIGN = "Wrong sign."
NO_ACCESS_TOKEN = "There is no access_token in query."  # noqa: S105
NO_SHOP_ID = "There is no shop_id in query."
BAD_SHOP_ID = "shop_id is invalid, should be an integer between 0 and 4294967295."
PARTNER_INVALID = "partner_id is invalid"
INVALID_ACCESS_TOKEN = "Invalid access_token, please have a check."  # noqa: S105
PARTNER_OR_SHOP = "Invalid partner_id or shopid."
SHOP_NO_LINK = "Partner and shop has no linked."
NOT_FOUND = "The information you queried is not found."
NO_API = "Permission denied. This API is currently offline or the request path is incorrect."
SERVER = "Something wrong. Please try later."
BUSY = "Something is wrong. Please try later."  # a lost race: retry

# Voucher errors, verbatim messages from the spec's error_list.
VOUCHER_MESSAGES: Final[dict[str, str]] = {
    "voucher.voucher_min_price_error": (
        "Min_basket_price must be higher than the fix amount if Min_basket_price is not 0."
    ),
    "voucher.voucher_btoc_item_blocked_error": (
        "Some items cannot be uploaded as they are b2c products in FBS shop"
    ),
    "voucher.voucher_code_duplicate_error": "Duplicated voucher code.",
    "voucher.voucher_code_error": (
        "Voucher code doesn't meet the requirement. Only support 0-9 or A-Z or a-z. Up "
        "to 5 characters."
    ),
    "voucher.voucher_coin_error": "Cannot create coin cashback voucher.",
    "voucher.voucher_display_channel_error": "Voucher display channel is set wrongly.",
    "voucher.voucher_end_time_error": "Voucher valid period can not be longer than 3 months.",
    "voucher.fix_amount_low_qualtiy_errorr": (
        "Voucher cannot be saved as it is lower than {limit}%. Please adjust the "
        "percentage amount to be more than or equal to {limit}%."
    ),
    "voucher.voucher_item_duplication_error": "Duplicated items in item_id_list.",
    "voucher.voucher_item_count_limit_error": (
        "The number of items in item_id_list exceeds the limit."
    ),
    "voucher.voucher_item_not_exist": "Some item in item_id_list doesn't exist",
    "voucher.voucher_max_discount_low_quality": (
        "To attract buyers to use your voucher, please increase maximum discount price "
        "to > {minimum} or reduce minimum basket price to < {maximum} to ensure buyers "
        "can enjoy the percentage discount configured."
    ),
    "voucher.voucher_over_limit": (
        "The total number of ongoing voucher and upcoming voucher cannot exceed 1000."
    ),
    "voucher.percentage_low_quality_error": (
        "Voucher cannot be saved as it is lower than {limit}.00%. Please adjust the "
        "percentage amount to be more than or equal to {limit}.00%."
    ),
    "voucher.voucher_start_time_error": "Voucher start time is earlier than current time.",
    "voucher.voucher_time_period_error": (
        "Voucher end time must be 1 hour later than the start time."
    ),
    "voucher.voucher_end_time_reduce_error": (
        "Only allow to shorten the voucher end_time. Cannot extend the end_time."
    ),
    "voucher.voucher_ongoing_param_error": (
        "Only limited fields can be modified when the voucher is ongoing. Fileds allow "
        "modification: voucher_name,usage_quantity,end_time,display_channel_list, "
        "item_id_list"
    ),
    "voucher.voucher_quantity_reduce_error": "Only allow to increase the voucher quantity.",
    "voucher.delete_voucher_error": "Can only delete upcoming voucher.",
    "voucher.end_voucher_status_error": "Can only end the ongoing voucher.",
    "voucher.update_end_voucher_error": "Cannot update status for expired voucher.",
    "voucher.operate_voucher_permission_error": (
        "The Voucher created in Shopee admin/Shop Game/Follow Prize/Member ship/Voucher "
        "campaign can't be updated"
    ),
}
