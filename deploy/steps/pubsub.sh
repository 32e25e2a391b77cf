# shellcheck shell=bash
# Step "pubsub": the notification topics, and a push subscription per topic to its interceptor route.

step_pubsub() {
  local agent i
  project_number
  agent=$(pubsub_service_agent)
  for i in "${!PUSH_TOPICS[@]}"; do
    ensure "topic ${PUSH_TOPICS[i]}" pubsub topics describe "${PUSH_TOPICS[i]}" -- pubsub topics create "${PUSH_TOPICS[i]}"
  done
  ensure_dead_letter_queue
  ensure_service_account "$PUBSUB_INVOKER_SERVICE_ACCOUNT" 'Cloud Run Pub/Sub Invoker' \
    'Agent Assist integration - identity of Pub/Sub pushes to the interceptor'
  # Tutorial fix: its run.invoker command has a space after the first backslash, so the shell
  # ends the command there and --member/--role never reach gcloud.
  grant_roles "run services" "$INTERCEPTOR_SERVICE_NAME" "serviceAccount:$PUBSUB_INVOKER_SERVICE_ACCOUNT" \
    roles/run.invoker -- --region="$SERVICE_REGION"
  # Pub/Sub signs the push tokens as the invoker account. Projects made after April 2021 allow
  # this implicitly; older ones need the grant, which is harmless on newer ones.
  grant_roles "iam service-accounts" "$PUBSUB_INVOKER_SERVICE_ACCOUNT" "$agent" roles/iam.serviceAccountTokenCreator
  resolve_interceptor_url
  for i in "${!PUSH_TOPICS[@]}"; do
    ensure_push_subscription "${PUSH_TOPICS[i]}" "${PUSH_ROUTES[i]}"
  done
  # Dead-lettering is done by Pub/Sub's own service agent: it must publish to the dead-letter
  # topic and acknowledge (subscribe) on the source subscriptions.
  grant_roles "pubsub topics" "$DEAD_LETTER_TOPIC_ID" "$agent" roles/pubsub.publisher
  for i in "${!PUSH_TOPICS[@]}"; do
    grant_roles "pubsub subscriptions" "$(subscription_for "${PUSH_TOPICS[i]}")" "$agent" roles/pubsub.subscriber
  done
}

# A message the interceptor refuses PUSH_MAX_DELIVERY_ATTEMPTS times is parked on the dead-letter
# topic instead of being retried forever. A topic without a subscription drops what it receives,
# so the parked messages wait in a pull subscription for an operator to look at.
ensure_dead_letter_queue() {
  ensure "dead-letter topic $DEAD_LETTER_TOPIC_ID" \
    pubsub topics describe "$DEAD_LETTER_TOPIC_ID" -- pubsub topics create "$DEAD_LETTER_TOPIC_ID"
  ensure "subscription $DEAD_LETTER_SUBSCRIPTION" \
    pubsub subscriptions describe "$DEAD_LETTER_SUBSCRIPTION" -- \
    pubsub subscriptions create "$DEAD_LETTER_SUBSCRIPTION" --topic="$DEAD_LETTER_TOPIC_ID" \
    --message-retention-duration=7d --expiration-period=never
}

# Tutorial fix: it names every subscription $SUBSCRIPTION_NAME, so all but the first create fail;
# each topic gets its own subscription here. --expiration-period=never: by default Pub/Sub deletes
# a subscription after 31 days without traffic, which a quiet contact centre can reach.
ensure_push_subscription() { # TOPIC ROUTE
  local subscription
  subscription=$(subscription_for "$1")
  ensure "subscription $subscription -> /$2" \
    pubsub subscriptions describe "$subscription" -- \
    pubsub subscriptions create "$subscription" --topic="$1" \
    --push-endpoint="$INTERCEPTOR_SERVICE_URL/$2" \
    --push-auth-service-account="$PUBSUB_INVOKER_SERVICE_ACCOUNT" \
    --ack-deadline="$PUSH_ACK_DEADLINE_SECONDS" \
    --min-retry-delay="$PUSH_MIN_RETRY_DELAY" --max-retry-delay="$PUSH_MAX_RETRY_DELAY" \
    --dead-letter-topic="$DEAD_LETTER_TOPIC_ID" --max-delivery-attempts="$PUSH_MAX_DELIVERY_ATTEMPTS" \
    --expiration-period=never
}
