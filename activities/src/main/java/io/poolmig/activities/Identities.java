package io.poolmig.activities;

import io.poolmig.db.RequesterIdentity;
import io.poolmig.workflows.Identity;

/** The workflows' {@link Identity} as the audit store keeps it (the db module knows no workflows). */
public final class Identities {

  private Identities() {}

  /** The same four parts; null for null (a request from before identities existed). */
  public static RequesterIdentity forStore(Identity identity) {
    return identity == null ? null : new RequesterIdentity(identity.osUser(),
        identity.clientHost(), identity.dbRole(), identity.onBehalfOf());
  }
}
