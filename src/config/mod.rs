//! RocketMQ properties files (`broker.conf`, `namesrv.conf`) read into typed, validated configs.
