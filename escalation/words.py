"""Chinese names of the codes, for documents and reasons (the code labels are English msgids)."""

ZH_NAMES = {
    "merchant": "商家协商", "platform": "平台介入", "12315": "12315平台", "consumer_association": "消费者协会",
    "market_regulator": "市场监督管理部门（举报）", "cyberspace_admin": "网信部门", "communications_admin": "通信管理局", "payment_dispute": "支付渠道争议处理",
    "public_complaint": "公开投诉平台", "industry_association": "行业协会", "card_chargeback": "银行卡拒付",
    "small_claims": "小额诉讼", "lawsuit": "民事诉讼", "police": "公安机关报案", "legal_aid": "法律援助",
    # dispute types
    "invalid_code": "卡密无效／激活失败", "not_as_described": "商品与描述不符", "missing_function": "功能缺失",
    "delivery_delay": "延迟发货／充值未到账", "fake_delivery": "虚假发货", "refund_refused": "拒绝退款",
    "account_recovered": "账号被原主找回", "account_banned": "账号被封", "account_mismatch": "账号与描述不符",
    "account_theft": "账号被盗", "data_leak": "个人信息泄露", "merchant_unreachable": "商家失联",
    "platform_shirking": "平台推诿", "unfair_terms": "霸王条款", "platform_absconded": "平台跑路",
    "fraud": "收款后失联（欺诈）",
    # product types
    "game_card": "游戏点卡", "phone_recharge": "话费充值", "activation_key": "软件激活码", "game_account": "游戏账号",
    "virtual_currency": "虚拟货币", "membership": "会员服务", "other": "其他",
    # payment channels
    "alipay": "支付宝", "wechat": "微信支付", "bank_card": "银行卡", "credit_card": "信用卡",
    "platform_balance": "平台余额",
    # claims
    "refund": "退款", "redelivery": "补发／更换", "compensation": "赔偿直接损失", "punitive": "惩罚性赔偿（退一赔三）",
    # outcomes
    "pending": "待答复", "accepted": "已受理", "resolved": "已解决", "partial": "部分解决", "refused": "被拒绝",
    "no_response": "未答复",
}


