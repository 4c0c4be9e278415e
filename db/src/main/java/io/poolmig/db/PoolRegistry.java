package io.poolmig.db;

import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

/**
 * The hosts of the pool: what each runs, where it receives migrations, how much memory it has,
 * whether it is in maintenance and when it was last heard from. Obtained from {@link
 * Database#poolRegistry()}; thread-safe.
 *
 * <p>{@link #claim} is an upsert, safe to repeat (a host's worker registers on every start): it
 * refreshes the host's description and {@code last_seen_at} but keeps {@code registered_at} and the
 * operator-set {@code state}; one worker (state directory) holds a host name at a time. Timestamps come from the database's clock, so hosts with skewed
 * clocks compare fairly.
 *
 * <p>Failures are thrown as {@link AuditStoreException}; an unknown host as {@link
 * NoSuchElementException}.
 */
public final class PoolRegistry {

  /**
   * Adds the host or updates what its worker says of it and {@code last_seen_at}, keeping {@code
   * registered_at} and the operator-set {@code state} — unless another worker instance holds the
   * name and was heard from within the given number of seconds.
   */
  private static final String CLAIM =
      "insert into hosts (name, hypervisor, receive_address, total_memory_bytes, state, labels,"
          + " tls_address, instance_id) values (?, ?, ?, ?, ?, ?::jsonb, ?, ?)"
          + " on conflict (name) do update set hypervisor = excluded.hypervisor,"
          + " receive_address = excluded.receive_address,"
          + " tls_address = excluded.tls_address,"
          + " total_memory_bytes = excluded.total_memory_bytes,"
          + " labels = excluded.labels,"
          + " instance_id = excluded.instance_id,"
          + " last_seen_at = now()"
          + " where hosts.instance_id is null or hosts.instance_id = excluded.instance_id"
          + " or hosts.last_seen_at <= now() - make_interval(secs => ?)";

  private static final String COLUMNS =
      "name, hypervisor, receive_address, total_memory_bytes, state, registered_at, last_seen_at,"
          + " state_changed_at, state_changed_by, state_reason, labels::text as labels,"
          + " tls_address";

  private static final String CHANGE_STATE =
      "update hosts set state = ?, state_changed_at = now(), state_changed_by = ?,"
          + " state_reason = ? where name = ? and state <> ?";

  private static final String RECORD_STATE =
      "insert into host_events (host, state, requested_by, reason, " + RequesterIdentity.COLUMNS
          + ") values (?, ?, ?, ?, ?, ?, ?, ?)";

  private static final String SET_GROUP =
      "insert into vm_groups (vm_uuid, vm_name, group_name, set_by) values (?, ?, ?, ?)"
          + " on conflict (vm_uuid) do update set vm_name = excluded.vm_name,"
          + " group_name = excluded.group_name, set_by = excluded.set_by, set_at = now()";

  static final int POOL_KEY_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Jdbc jdbc;
  /** Never changes once created, so one read per process is enough. */
  private volatile byte[] poolKey;

  PoolRegistry(Jdbc jdbc) {
    this.jdbc = jdbc;
  }

  /** Parameters 1–7 of {@link #CLAIM}: what a worker says of its host. */
  private static void bindDescription(PreparedStatement ps, HostRecord h) throws SQLException {
    ps.setString(1, h.name());
    ps.setString(2, h.hypervisor());
    ps.setString(3, h.receiveAddress());
    ps.setLong(4, h.totalMemoryBytes());
    ps.setString(5, h.state() == null ? HostRecord.ACTIVE : h.state());
    ps.setString(6, labelsJson(h.labels()));
    ps.setString(7, h.tlsAddress());
  }

  /**
   * Adds the host, or updates its hypervisor, receive addresses, total memory, labels and {@code
   * last_seen_at} (a new host gets {@code h.state()}, {@code active} if null; an existing one
   * keeps its state; the record's timestamps are ignored), as served by the worker whose state
   * directory is {@code instance} — unless another instance registered the name and has been heard from
   * within {@code takeOverAfter}: then nothing changes and {@link HostNameTakenException} says
   * who holds it. The check and the update are one statement, so of two workers racing for a
   * name one wins. {@code Duration.ZERO} takes the name over whoever holds it (a pool that runs
   * every host of its registry in its own process).
   */
  public void claim(HostRecord h, String instance, java.time.Duration takeOverAfter) {
    Objects.requireNonNull(h, "h");
    Checks.requireText(instance, "instance");
    int updated = jdbc.run(
        "registering host " + h.name(),
        c -> {
          try (PreparedStatement ps = c.prepareStatement(CLAIM)) {
            bindDescription(ps, h);
            ps.setString(8, instance);
            ps.setDouble(9, takeOverAfter.toMillis() / 1000.0);
            return ps.executeUpdate();
          }
        });
    if (updated == 0) {
      throw jdbc.run("reading who serves host " + h.name(), c -> {
        try (PreparedStatement ps = c.prepareStatement("select instance_id, receive_address,"
            + " last_seen_at, extract(epoch from now() - last_seen_at) as quiet from hosts"
            + " where name = ?")) {
          ps.setString(1, h.name());
          try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
              throw new IllegalStateException("host " + h.name() + " was neither added nor"
                  + " updated, and is not registered");
            }
            return new HostNameTakenException(h.name(), rs.getString("instance_id"),
                rs.getString("receive_address"), Jdbc.getInstant(rs, "last_seen_at"),
                java.time.Duration.ofMillis((long) (rs.getDouble("quiet") * 1000)),
                takeOverAfter);
          }
        }
      });
    }
  }

  /**
   * Sets the host's {@code last_seen_at} to now if {@code instance} still serves it; false when
   * another worker has taken the name over (after this one was silent too long).
   */
  public boolean heartbeat(String name, String instance) {
    Checks.requireText(name, "name");
    return jdbc.run(
        "recording a heartbeat of host " + name,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("update hosts set last_seen_at = now()"
              + " where name = ? and (instance_id = ? or instance_id is null)")) {
            ps.setString(1, name);
            ps.setString(2, instance);
            return ps.executeUpdate();
          }
        }) > 0;
  }

  /**
   * Sets the host's {@code last_seen_at} to now.
   *
   * @throws NoSuchElementException if the host was never registered
   */
  public void heartbeat(String name) {
    Checks.requireText(name, "name");
    int updated =
        jdbc.run(
            "recording a heartbeat of host " + name,
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement("update hosts set last_seen_at = now() where name = ?")) {
                ps.setString(1, name);
                return ps.executeUpdate();
              }
            });
    if (updated == 0) {
      throw unknown(name);
    }
  }

  /** The host named {@code name}, if registered. */
  public Optional<HostRecord> find(String name) {
    Checks.requireText(name, "name");
    return jdbc.run(
        "looking up host " + name,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + COLUMNS + " from hosts where name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(host(rs)) : Optional.<HostRecord>empty();
            }
          }
        });
  }

  /**
   * Every registered host, ordered by name in byte order (the same whatever the database's
   * collation, and the same as {@link String#compareTo} for ASCII names).
   */
  public List<HostRecord> list() {
    return jdbc.run(
        "listing hosts",
        c -> {
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "select " + COLUMNS + " from hosts order by name collate \"C\"");
              ResultSet rs = ps.executeQuery()) {
            List<HostRecord> hosts = new ArrayList<>();
            while (rs.next()) {
              hosts.add(host(rs));
            }
            return List.copyOf(hosts);
          }
        });
  }

  /**
   * Puts the host in {@code state} on behalf of {@code requestedBy}, recording who, when and why on
   * the host and in its event history, in one transaction. Setting the state the host already has
   * changes and records nothing.
   *
   * @param state {@value HostRecord#ACTIVE} or {@value HostRecord#MAINTENANCE}
   * @param reason why, for the audit; may be null
   * @return whether the state changed
   * @throws NoSuchElementException if the host was never registered
   */
  public boolean setState(String name, String state, String requestedBy, String reason) {
    return setState(name, state, requestedBy, reason, null);
  }

  /**
   * As {@link #setState(String, String, String, String)}, with who really asked, recorded in the
   * host's event history beside {@code requestedBy}.
   *
   * @param identity null when not known
   */
  public boolean setState(String name, String state, String requestedBy, String reason,
      RequesterIdentity identity) {
    Checks.requireText(name, "name");
    Checks.requireOneOf(state, "state", HostRecord.STATES);
    Checks.requireText(requestedBy, "requestedBy");
    Boolean changed = jdbc.inTransaction(
        "setting host " + name + " to " + state,
        c -> {
          int updated;
          try (PreparedStatement ps = c.prepareStatement(CHANGE_STATE)) {
            ps.setString(1, state);
            ps.setString(2, requestedBy);
            ps.setString(3, reason);
            ps.setString(4, name);
            ps.setString(5, state);
            updated = ps.executeUpdate();
          }
          if (updated == 0) {
            return unchanged(c, name);
          }
          recordEvent(c, name, state, requestedBy, reason, identity);
          return Boolean.TRUE;
        });
    if (changed == null) {
      throw unknown(name);
    }
    return changed;
  }

  /** After a change that touched no row: FALSE if the host is registered, null if not. */
  private static Boolean unchanged(java.sql.Connection c, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select 1 from hosts where name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Boolean.FALSE : null;
      }
    }
  }

  /** A row of the host's history: who changed its standing, to what, and why. */
  private static void recordEvent(java.sql.Connection c, String name, String state,
      String requestedBy, String reason, RequesterIdentity identity) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(RECORD_STATE)) {
      ps.setString(1, name);
      ps.setString(2, state);
      ps.setString(3, requestedBy);
      ps.setString(4, reason);
      RequesterIdentity.bind(ps, 5, identity);
      ps.executeUpdate();
    }
  }

  /**
   * Removes {@code name} from the registry — a host gone for good — if its worker has been
   * silent for longer than {@code silentFor}; its history keeps every change and ends with a
   * {@code forgotten} event of who asked and why. The silence is checked in the same statement
   * as the removal, so a worker that came back meanwhile keeps its host.
   *
   * @return false (and nothing changed) if the worker was heard from within {@code silentFor}
   * @throws NoSuchElementException if the host is not registered
   */
  public boolean forget(String name, String requestedBy, String reason,
      RequesterIdentity identity, java.time.Duration silentFor) {
    Checks.requireText(name, "name");
    Checks.requireText(requestedBy, "requestedBy");
    Boolean forgotten = jdbc.inTransaction(
        "forgetting host " + name,
        c -> {
          int deleted;
          try (PreparedStatement ps = c.prepareStatement("delete from hosts where name = ?"
              + " and last_seen_at <= now() - make_interval(secs => ?)")) {
            ps.setString(1, name);
            ps.setDouble(2, silentFor.toMillis() / 1000.0);
            deleted = ps.executeUpdate();
          }
          if (deleted == 0) {
            return unchanged(c, name);
          }
          recordEvent(c, name, HostRecord.FORGOTTEN, requestedBy, reason, identity);
          return Boolean.TRUE;
        });
    if (forgotten == null) {
      throw unknown(name);
    }
    return forgotten;
  }

  /**
   * Puts the VM in anti-affinity group {@code group} (replacing the one it had), or takes it out
   * of any ({@code group} null).
   *
   * @param group letters, digits, {@code _ . -}, up to 63, starting with a letter or digit
   * @return whether the VM had a group before
   * @throws IllegalArgumentException for a malformed group name
   */
  public boolean setGroup(java.util.UUID vmUuid, String vmName, String group, String setBy) {
    Objects.requireNonNull(vmUuid, "vmUuid");
    Checks.requireText(vmName, "vmName");
    Checks.requireText(setBy, "setBy");
    if (group != null && !group.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
      throw new IllegalArgumentException("group '" + group + "' must be letters, digits, _ . -, "
          + "up to 63, starting with a letter or digit");
    }
    return jdbc.inTransaction("setting the group of VM " + vmName, c -> {
      boolean had;
      try (PreparedStatement ps = c.prepareStatement(
          "delete from vm_groups where vm_uuid = ?")) {
        ps.setObject(1, vmUuid);
        had = ps.executeUpdate() > 0;
      }
      if (group != null) {
        try (PreparedStatement ps = c.prepareStatement(SET_GROUP)) {
          ps.setObject(1, vmUuid);
          ps.setString(2, vmName);
          ps.setString(3, group);
          ps.setString(4, setBy);
          ps.executeUpdate();
        }
      }
      return had;
    });
  }

  /** Every VM's anti-affinity group, by VM UUID. */
  public java.util.Map<java.util.UUID, String> groups() {
    return jdbc.run("listing VM groups", c -> {
      try (PreparedStatement ps = c.prepareStatement(
              "select vm_uuid, group_name from vm_groups");
          ResultSet rs = ps.executeQuery()) {
        java.util.Map<java.util.UUID, String> out = new java.util.HashMap<>();
        while (rs.next()) {
          out.put(rs.getObject(1, java.util.UUID.class), rs.getString(2));
        }
        return java.util.Map.copyOf(out);
      }
    });
  }

  /**
   * The database's clock, which sets {@code last_seen_at}: how long a host has been silent is
   * measured against it, never against the caller's clock.
   */
  public Instant clock() {
    return jdbc.run("reading the database's clock", c -> {
      try (PreparedStatement ps = c.prepareStatement("select now() as now");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return Jdbc.getInstant(rs, "now");
      }
    });
  }

  /**
   * The pool's secret: 32 random bytes, created on the first call of any process and the same for
   * every caller from then on (concurrent first callers all get the bytes that won). Hosts derive
   * receive tickets from it; it is kept only here and never travels through Temporal. Returns a
   * fresh copy each time.
   */
  public byte[] poolKey() {
    byte[] known = poolKey;
    if (known == null) {
      known = jdbc.run(
          "reading the pool key",
          c -> {
            byte[] key = readPoolKey(c);
            if (key == null) {
              byte[] fresh = new byte[POOL_KEY_BYTES];
              RANDOM.nextBytes(fresh);
              // Of concurrent inserts one wins; the others wait for it and then do nothing.
              try (PreparedStatement ps = c.prepareStatement(
                  "insert into pool_key (id, key) values (true, ?) on conflict (id) do nothing")) {
                ps.setBytes(1, fresh);
                ps.executeUpdate();
              }
              key = readPoolKey(c);
            }
            if (key == null || key.length != POOL_KEY_BYTES) {
              throw new SQLException("the pool key is missing or not " + POOL_KEY_BYTES
                  + " bytes long");
            }
            return key;
          });
      poolKey = known;
    }
    return known.clone();
  }

  private static byte[] readPoolKey(java.sql.Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("select key from pool_key where id");
        ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getBytes(1) : null;
    }
  }

  private static NoSuchElementException unknown(String name) {
    return new NoSuchElementException("unknown host '" + name + "'; register it first");
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper LABELS =
      new com.fasterxml.jackson.databind.ObjectMapper();
  private static final com.fasterxml.jackson.core.type.TypeReference<
      java.util.Map<String, String>> LABELS_TYPE = new com.fasterxml.jackson.core.type
          .TypeReference<>() {};

  private static String labelsJson(java.util.Map<String, String> labels) {
    try {
      return LABELS.writeValueAsString(new java.util.TreeMap<>(labels));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("labels do not serialize: " + labels, e);
    }
  }

  private static java.util.Map<String, String> labels(String json) throws SQLException {
    try {
      return json == null ? java.util.Map.of() : LABELS.readValue(json, LABELS_TYPE);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new SQLException("a host's labels are not a JSON object of strings: " + json, e);
    }
  }

  private static HostRecord host(ResultSet rs) throws SQLException {
    return new HostRecord(
        rs.getString("name"),
        rs.getString("hypervisor"),
        rs.getString("receive_address"),
        rs.getLong("total_memory_bytes"),
        rs.getString("state"),
        Jdbc.getInstant(rs, "registered_at"),
        Jdbc.getInstant(rs, "last_seen_at"),
        rs.getString("state_changed_by") == null ? null : new HostRecord.StateChange(
            Jdbc.getInstant(rs, "state_changed_at"), rs.getString("state_changed_by"),
            rs.getString("state_reason")),
        labels(rs.getString("labels")),
        rs.getString("tls_address"));
  }
}
