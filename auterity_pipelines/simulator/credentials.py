"""The simulator's published demo credentials (public by design: they open only the simulator)."""

DEMO_CREDENTIALS = {
    "AUTERITY_DEMO_FORTELLIS_CLIENT_ID": "demo-client",
    "AUTERITY_DEMO_FORTELLIS_CLIENT_SECRET": "demo-client-secret",
    "AUTERITY_DEMO_TEKION_APP_ID": "demo-app",
    "AUTERITY_DEMO_TEKION_SECRET_KEY": "demo-app-secret",
    "AUTERITY_DEMO_WEBHOOK_SECRET": "demo-webhook-secret",
    # The demo SMS provider's account (Twilio-style test values) and the demo staff it reaches.
    "AUTERITY_SMS_ACCOUNT_SID": "AC00000000000000000000000000demo",
    "AUTERITY_SMS_AUTH_TOKEN": "demo-sms-auth-token",
    "AUTERITY_DEMO_SALES_MANAGER_PHONE": "+15555550100",
    "AUTERITY_DEMO_SERVICE_MANAGER_EMAIL": "service.manager@harbor-kia.example",
    "AUTERITY_DEMO_GM_EMAIL": "gm@auterity.example",
    "AUTERITY_DEMO_CHAT_WEBHOOK_URL": "http://127.0.0.1:8765/_chat/services/T0DEMO/B0DEMO/demo",
}
