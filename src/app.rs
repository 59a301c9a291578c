//! `App`: knowledge base + intents + session logic. `ask()` and `follow_up()` are shared by the
//! CLI and the bot, so every bot answer can be reproduced offline.
