package dev.im4j.core.data;

import java.util.Locale;

/** The author of a message in a conversation. */
public enum Role {
  SYSTEM("system"),
  USER("user"),
  ASSISTANT("assistant");

  private final String wireName;

  Role(String wireName) {
    this.wireName = wireName;
  }

  /**
   * The lower-case name used in chat templates and JSON ({@code "system"}, {@code "user"}, ...).
   */
  public String wireName() {
    return wireName;
  }

  /**
   * Parses a role from its wire name, case-insensitively.
   *
   * @throws IllegalArgumentException if {@code name} is not one of system, user, assistant
   */
  public static Role fromWireName(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (Role role : values()) {
      if (role.wireName.equals(lower)) {
        return role;
      }
    }
    throw new IllegalArgumentException(
        "unknown role '" + name + "'; allowed: system, user, assistant");
  }
}
