"""The simulator's published demo credentials (public by design: they open only the simulator)."""

DEMO_CREDENTIALS = {
    "AUTERITY_DEMO_FORTELLIS_CLIENT_ID": "demo-client",
    "AUTERITY_DEMO_FORTELLIS_CLIENT_SECRET": "demo-client-secret",
    "AUTERITY_DEMO_TEKION_APP_ID": "demo-app",
    "AUTERITY_DEMO_TEKION_SECRET_KEY": "demo-app-secret",
    "AUTERITY_DEMO_WEBHOOK_SECRET": "demo-webhook-secret",
}
