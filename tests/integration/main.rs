//! Route-level integration tests: the real app, a real software authenticator, real stores.
#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod beyond;
mod challenges;
mod clients;
mod cross_device;
mod custom_flow;
#[path = "../../examples/custom_flow.rs"]
mod custom_flow_example;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod diesel_stores;
mod fixtures;
mod fuzz;
mod fuzz_bodies;
mod hooks;
mod http;
#[cfg(feature = "metrics")]
mod metrics;
mod mounting;
mod negative;
mod origins;
mod prf;
mod properties;
#[path = "../../examples/common/mod.rs"]
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
mod quickstart_app;
mod races;
mod review_attacks;
mod routes;
mod sessions;
mod tenants;
mod webauthn_checks;

/// The route suite, one list for every backend (so the lists cannot drift).
macro_rules! route_suite {
    ($backend:ty) => {
        crate::backend_tests!($backend;
            username_first_sign_in,
            usernameless_sign_in,
            registration_records_metadata,
            second_passkey_reuses_user_handle_and_excludes_first,
            replayed_state_is_refused,
            expired_state_is_refused,
            state_of_the_other_ceremony_is_not_found,
            foreign_credential_is_refused_username_first,
            user_handle_must_be_the_owners,
            cloned_authenticator_is_rejected,
            cloned_authenticator_disables_under_disable_policy,
            counterless_authenticator_is_accepted,
            user_verification_required_is_enforced,
            user_verification_preferred_accepts_and_records,
            user_verification_discouraged_asks_for_none_and_accepts_without,
            duplicate_credential_id_is_a_conflict,
            unknown_user_gets_stable_fake_credentials,
            management_checks_ownership,
            revoked_passkey_cannot_sign_in,
            device_names_are_validated,
            device_names_refuse_bidi_and_invisible_characters,
            long_authenticator_names_are_cut_to_fit,
            resident_key_required_refuses_a_non_discoverable_credential,
            resident_key_required_accepts_an_absent_credprops_report_as_unknown,
            backup_state_and_last_use_refresh_on_sign_in,
            malformed_requests_get_the_envelope,
            store_outage_is_503,
            configuration_error_is_opaque_500,
            custom_resolver_and_hook,
            failing_audit_sink_does_not_fail_ceremonies,
            session_is_renewed_on_login_and_purged_on_logout,
            browser_helper_is_served,
            register_begin_needs_a_user,
            backup_eligibility_upgrade_follows_policy,
            concurrent_assertions_with_one_counter_value,
            refusing_hook_leaves_no_session,
            revoked_passkey_ends_its_sessions,
            disabled_passkey_ends_its_sessions,
            session_of_a_reassigned_credential_is_refused,
            stale_identified_session_cannot_add_a_passkey,
            quickstart_signup_race_cannot_add_a_passkey_to_bob,
            identified_user_may_register_only_within_the_window,
            authenticated_without_passkeys_data_is_a_configuration_error,
            challenge_of_another_tenant_is_not_found,
            logout_cancels_pending_registration,
            challenge_records_name_tenant_and_user,
        );
        crate::race_tests!($backend;
            one_state_finished_64_times_over_http_signs_in_once,
            racing_sign_ins_with_one_counter_lose_at_the_compare_and_swap,
        );
    };
}

mod memory {
    route_suite!(crate::fixtures::Memory);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    route_suite!(crate::fixtures::Sqlite);
}

#[cfg(feature = "postgres")]
mod postgres {
    route_suite!(crate::fixtures::Postgres);
}

/// The whole route suite with challenges in Redis.
#[cfg(feature = "redis")]
mod redis {
    route_suite!(crate::fixtures::Redis);
}
