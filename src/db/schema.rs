//! The tables, as diesel sees them. One schema for both backends: only types that SQLite
//! and PostgreSQL share (Text, Bool, Timestamp, BigInt) are used.

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        upn -> Text,
        display_name -> Text,
        mail -> Nullable<Text>,
        user_type -> Text,
        enabled -> Bool,
        manager_id -> Nullable<Text>,
        department -> Nullable<Text>,
        job_title -> Nullable<Text>,
        created_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
        source_id -> Text,
        external_id -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        formatted_name -> Nullable<Text>,
        employee_number -> Nullable<Text>,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        display_name -> Text,
        description -> Nullable<Text>,
        group_type -> Text,
        membership_rule -> Nullable<Text>,
        on_premises_sync -> Bool,
        mail_enabled -> Bool,
        created_at -> Timestamp,
        source_id -> Text,
        external_id -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    group_owners (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        source_id -> Text,
    }
}

diesel::table! {
    group_member_users (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        source_id -> Text,
    }
}

diesel::table! {
    group_member_groups (group_id, member_group_id) {
        group_id -> Text,
        member_group_id -> Text,
        source_id -> Text,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        app_id -> Text,
        display_name -> Text,
        assignment_required -> Bool,
        homepage -> Nullable<Text>,
        created_at -> Timestamp,
        source_id -> Text,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    app_owners (app_id, user_id) {
        app_id -> Text,
        user_id -> Text,
        source_id -> Text,
    }
}

diesel::table! {
    app_user_assignments (app_id, user_id) {
        app_id -> Text,
        user_id -> Text,
        app_role -> Text,
        created_at -> Timestamp,
        source_id -> Text,
    }
}

diesel::table! {
    app_group_assignments (app_id, group_id) {
        app_id -> Text,
        group_id -> Text,
        app_role -> Text,
        created_at -> Timestamp,
        source_id -> Text,
    }
}

diesel::table! {
    role_definitions (id) {
        id -> Text,
        display_name -> Text,
        description -> Text,
        role_kind -> Text,
        privileged -> Bool,
    }
}

diesel::table! {
    role_assignments (id) {
        id -> Text,
        role_id -> Text,
        user_id -> Text,
        scope -> Text,
        scope_name -> Text,
        assignment_type -> Text,
        start_at -> Timestamp,
        end_at -> Nullable<Timestamp>,
        source_id -> Text,
    }
}

diesel::table! {
    sign_ins (id) {
        id -> BigInt,
        user_id -> Text,
        app_id -> Nullable<Text>,
        signed_in_at -> Timestamp,
        event_key -> Nullable<Text>,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    review_definitions (id) {
        id -> Text,
        display_name -> Text,
        description_for_reviewers -> Text,
        description_for_admins -> Text,
        scope_kind -> Text,
        role_assignment_types -> Nullable<Text>,
        resource_scope -> Nullable<Text>,
        user_scope -> Text,
        inactive_days -> Nullable<Integer>,
        reviewer_kind -> Text,
        start_date -> Date,
        frequency -> Text,
        duration_days -> Integer,
        end_kind -> Text,
        end_date -> Nullable<Date>,
        occurrences -> Nullable<Integer>,
        auto_apply -> Bool,
        default_decision -> Text,
        guest_denied_action -> Text,
        recommendations_enabled -> Bool,
        lookback_days -> Integer,
        justification_required -> Bool,
        mail_notifications -> Bool,
        additional_recipients -> Text,
        status -> Text,
        next_occurrence -> Integer,
        next_start_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by_name -> Text,
        reminder_schedule -> Text,
    }
}

diesel::table! {
    review_definition_resources (definition_id, resource_type, resource_id) {
        definition_id -> Text,
        resource_type -> Text,
        resource_id -> Text,
        excluded -> Bool,
    }
}

diesel::table! {
    review_definition_reviewers (definition_id, user_id, fallback) {
        definition_id -> Text,
        user_id -> Text,
        fallback -> Bool,
    }
}

diesel::table! {
    review_instances (id) {
        id -> Text,
        definition_id -> Text,
        occurrence -> Integer,
        resource_type -> Text,
        resource_id -> Text,
        resource_name -> Text,
        resource_scope -> Nullable<Text>,
        start_at -> Timestamp,
        end_at -> Timestamp,
        status -> Text,
        total_items -> Integer,
        not_reviewed -> Integer,
        approved -> Integer,
        denied -> Integer,
        dont_know -> Integer,
        recommended_deny -> Integer,
        created_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        justification_required -> Bool,
        pending_approve -> Integer,
        pending_deny -> Integer,
        routed_to_admins -> Integer,
        stage -> Integer,
        stage_count -> Integer,
        outcome_rule -> Text,
    }
}

diesel::table! {
    review_instance_reviewers (instance_id, user_id) {
        instance_id -> Text,
        user_id -> Text,
        fallback -> Bool,
    }
}

diesel::table! {
    review_decision_items (id) {
        id -> Text,
        instance_id -> Text,
        principal_id -> Text,
        principal_name -> Text,
        principal_upn -> Text,
        principal_type -> Text,
        access_path -> Text,
        access_direct -> Bool,
        access_detail -> Text,
        reviewer_id -> Nullable<Text>,
        last_sign_in -> Nullable<Timestamp>,
        recommendation -> Text,
        recommendation_reason -> Text,
        decision -> Text,
        justification -> Text,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        apply_result -> Text,
        apply_detail -> Text,
        applied_by -> Nullable<Text>,
        applied_at -> Nullable<Timestamp>,
        reviewer_pool -> Text,
        principal_job_title -> Text,
        principal_department -> Text,
        principal_manager -> Text,
        stage -> Integer,
        reviewed_for -> Nullable<Text>,
    }
}

diesel::joinable!(app_group_assignments -> applications (app_id));
diesel::joinable!(app_group_assignments -> groups (group_id));
diesel::joinable!(app_owners -> applications (app_id));
diesel::joinable!(app_owners -> users (user_id));
diesel::table! {
    guest_deletions (user_id) {
        user_id -> Text,
        instance_id -> Text,
        disabled_at -> Timestamp,
        delete_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        created_at -> Timestamp,
        kind -> Text,
        instance_id -> Text,
        recipient_id -> Nullable<Text>,
        recipient_name -> Text,
        recipient_address -> Text,
        subject -> Text,
        facts -> Text,
        once_key -> Nullable<Text>,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    reminder_rounds (instance_id, stage, round) {
        instance_id -> Text,
        stage -> Integer,
        round -> Text,
        at -> Timestamp,
        recipients -> Integer,
    }
}

diesel::joinable!(guest_deletions -> users (user_id));
diesel::joinable!(app_user_assignments -> applications (app_id));
diesel::joinable!(app_user_assignments -> users (user_id));
diesel::joinable!(group_member_users -> groups (group_id));
diesel::joinable!(group_member_users -> users (user_id));
diesel::joinable!(group_owners -> groups (group_id));
diesel::joinable!(group_owners -> users (user_id));
diesel::joinable!(role_assignments -> role_definitions (role_id));
diesel::joinable!(role_assignments -> users (user_id));
diesel::joinable!(web_sessions -> users (user_id));
diesel::joinable!(review_definition_resources -> review_definitions (definition_id));
diesel::joinable!(review_definition_reviewers -> review_definitions (definition_id));
diesel::joinable!(review_definition_reviewers -> users (user_id));
diesel::joinable!(review_instances -> review_definitions (definition_id));
diesel::joinable!(review_instance_reviewers -> review_instances (instance_id));
diesel::joinable!(review_instance_reviewers -> users (user_id));
diesel::joinable!(review_decision_items -> review_instances (instance_id));
diesel::joinable!(outbox -> review_instances (instance_id));
diesel::joinable!(reminder_rounds -> review_instances (instance_id));

diesel::table! {
    sources (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
        changed_at -> Nullable<Timestamp>,
        settings -> Text,
        sync_attempted_at -> Nullable<Timestamp>,
        synced_at -> Nullable<Timestamp>,
        write_backs -> BigInt,
    }
}

diesel::table! {
    source_errors (id) {
        id -> BigInt,
        source_id -> Text,
        at -> Timestamp,
        message -> Text,
    }
}

diesel::table! {
    source_tokens (id) {
        id -> Text,
        source_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        created_by_name -> Text,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_emails (user_id, position) {
        user_id -> Text,
        position -> Integer,
        value -> Text,
        kind -> Nullable<Text>,
        is_primary -> Bool,
    }
}

diesel::table! {
    remediation_tasks (item_id) {
        item_id -> Text,
        instance_id -> Text,
        source_id -> Text,
        resource_type -> Text,
        resource_id -> Text,
        principal_id -> Text,
        created_at -> Timestamp,
        removed_at_source_at -> Nullable<Timestamp>,
        regranted_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(source_errors -> sources (source_id));
diesel::joinable!(source_tokens -> sources (source_id));
diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(remediation_tasks -> review_decision_items (item_id));

diesel::table! {
    api_clients (id) {
        id -> Text,
        name -> Text,
        permission -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        created_by_name -> Text,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    personal_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        permission -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    review_history_definitions (id) {
        id -> Text,
        display_name -> Text,
        period_start -> Timestamp,
        period_end -> Timestamp,
        decisions -> Text,
        kinds -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        created_by_id -> Nullable<Text>,
        created_by_name -> Text,
        created_by_upn -> Nullable<Text>,
    }
}

diesel::table! {
    review_reassignments (id) {
        id -> BigInt,
        item_id -> Text,
        instance_id -> Text,
        from_user -> Nullable<Text>,
        to_user -> Text,
        note -> Text,
        by_user -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(review_reassignments -> review_decision_items (item_id));

diesel::joinable!(personal_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    settings,
    api_clients,
    personal_tokens,
    users,
    groups,
    group_owners,
    group_member_users,
    group_member_groups,
    applications,
    app_owners,
    app_user_assignments,
    app_group_assignments,
    role_definitions,
    role_assignments,
    sign_ins,
    web_sessions,
    audit_events,
    review_definitions,
    review_definition_resources,
    review_definition_reviewers,
    review_instances,
    review_instance_reviewers,
    review_decision_items,
    guest_deletions,
    outbox,
    reminder_rounds,
    sources,
    source_errors,
    source_tokens,
    user_emails,
    remediation_tasks,
    review_history_definitions,
    review_reassignments,
    review_definition_stages,
    review_definition_stage_reviewers,
    review_instance_stages,
    review_stage_decisions,
    review_definition_escalations,
    review_escalation_rounds,
    review_item_escalations,
    review_definition_outcomes,
    review_item_votes,
    review_delegations,
);

diesel::table! {
    review_definition_stages (definition_id, stage) {
        definition_id -> Text,
        stage -> Integer,
        reviewer_kind -> Text,
        duration_days -> Integer,
        moves -> Text,
        recommendations_enabled -> Bool,
        decision_histories -> Bool,
    }
}

diesel::table! {
    review_definition_stage_reviewers (definition_id, stage, user_id, fallback) {
        definition_id -> Text,
        stage -> Integer,
        user_id -> Text,
        fallback -> Bool,
    }
}

diesel::table! {
    review_instance_stages (instance_id, stage) {
        instance_id -> Text,
        stage -> Integer,
        reviewer_kind -> Text,
        moves -> Text,
        recommendations_enabled -> Bool,
        decision_histories -> Bool,
        start_at -> Timestamp,
        end_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        items -> Integer,
    }
}

diesel::table! {
    review_stage_decisions (item_id, stage) {
        item_id -> Text,
        stage -> Integer,
        instance_id -> Text,
        decision -> Text,
        justification -> Text,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_for -> Nullable<Text>,
    }
}

diesel::table! {
    review_definition_outcomes (definition_id, stage) {
        definition_id -> Text,
        stage -> Integer,
        rule -> Text,
    }
}

diesel::table! {
    review_item_votes (item_id, stage, seat) {
        item_id -> Text,
        stage -> Integer,
        seat -> Text,
        instance_id -> Text,
        decision -> Text,
        justification -> Text,
        decided_by -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    review_delegations (id) {
        id -> BigInt,
        user_id -> Text,
        delegate_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(review_definition_stages -> review_definitions (definition_id));
diesel::joinable!(review_item_votes -> review_decision_items (item_id));
diesel::joinable!(review_instance_stages -> review_instances (instance_id));
diesel::joinable!(review_stage_decisions -> review_decision_items (item_id));
diesel::joinable!(review_definition_stage_reviewers -> users (user_id));

diesel::table! {
    review_definition_escalations (definition_id) {
        definition_id -> Text,
        days_before -> Integer,
        target -> Text,
    }
}

diesel::table! {
    review_escalation_rounds (instance_id, stage) {
        instance_id -> Text,
        stage -> Integer,
        at -> Timestamp,
        items -> Integer,
    }
}

diesel::table! {
    review_item_escalations (item_id, stage, user_id) {
        item_id -> Text,
        instance_id -> Text,
        stage -> Integer,
        user_id -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(review_item_escalations -> review_decision_items (item_id));
