package dev.im4j.core.template.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.template.TemplateException;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Small hand-written templates. Expected outputs were produced by jinja2 3.1 configured as Hugging
 * Face does (see golden/templates/generate.py), so they pin the Python semantics.
 */
class JinjaTemplateTest {
  static final Clock FIXED =
      Clock.fixed(LocalDateTime.of(2024, 7, 26, 9, 30).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

  static Map<String, Object> variables() {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("s", PString.of("  Hello World  "));
    v.put("xs", List.of(PString.of("a"), PString.of("b"), PString.of("c")));
    Map<Object, Object> d = new LinkedHashMap<>();
    d.put(PString.of("k"), PString.of("v"));
    d.put(PString.of("n"), 1L);
    v.put("d", Values.dict(d));
    v.put(
        "msgs",
        List.of(
            Map.of(PString.of("role"), PString.of("user"), PString.of("content"), PString.of("hi")),
            Map.of(
                PString.of("role"),
                PString.of("assistant"),
                PString.of("content"),
                PString.of("yo"))));
    return v;
  }

  static String render(String template) {
    return JinjaTemplate.parse(template).render(variables(), FIXED).text();
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("a\n  {% if true %}\n  b\n  {% endif %}\nc", "a\n  b\nc"),
        Arguments.of("x {%- if true -%} y {%- endif -%} z", "xyz"),
        Arguments.of("{{ 'a' }} {{- ' b ' -}} c", "a b c"),
        Arguments.of("  {%+ if true %}x{% endif %}", "  x"),
        Arguments.of(
            "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}",
            "10TrueFalse332;21FalseFalse321;32FalseTrue310;"),
        Arguments.of(
            "{% for x in xs if x != 'b' %}{{ x }}{{ loop.length }}{% else %}empty{% endfor %}{% for y in [] %}{% else %}none{% endfor %}",
            "a2c2none"),
        Arguments.of(
            "{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}",
            "a"),
        Arguments.of(
            "{% set ns = namespace(n=0, s='') %}{% for x in xs %}{% set ns.n = ns.n + 1 %}{% set ns.s = ns.s ~ x %}{% endfor %}{{ ns.n }}{{ ns.s }}",
            "3abc"),
        Arguments.of("{% set v = 1 %}{% for x in xs %}{% set v = 2 %}{% endfor %}{{ v }}", "1"),
        Arguments.of(
            "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}",
            "Hi Bob! Hi Al?"),
        Arguments.of(
            "{{ xs[::-1] }}{{ 'abcdef'[1:4] }}{{ 'abcdef'[::2] }}{{ 'abcdef'[-2:] }}{{ xs[-1] }}{{ 'abc'[::-1] }}",
            "['c', 'b', 'a']bcdaceefccba"),
        Arguments.of(
            "{{ s|trim }}|{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}",
            "Hello World|Hello World|Hello World  |  Hello World|hi"),
        Arguments.of(
            "{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}",
            "['a', 'b', '', 'c']['a', 'b']['a', 'b,c']['a,b', 'c']"),
        Arguments.of(
            "{{ d|tojson }}{{ xs|tojson }}{{ '\u00e9\"\\n'|tojson }}{{ d|tojson(indent=2) }}{{ [1, 2.5, none, true]|tojson }}",
            "{\"k\": \"v\", \"n\": 1}[\"a\", \"b\", \"c\"]\"\u00e9\\\"\\n\"{\n  \"k\": \"v\",\n  \"n\": 1\n}[1, 2.5, null, true]"),
        Arguments.of(
            "{{ xs|join(', ') }}|{{ xs|length }}|{{ xs|first }}|{{ xs|last }}|{{ 'ab'|upper }}|{{ 'AB'|lower }}|{{ 'hello world'|title }}|{{ 'hELLO'|capitalize }}",
            "a, b, c|3|a|c|AB|ab|Hello World|Hello"),
        Arguments.of(
            "{{ undefined_var }}|{{ undefined_var|default('dflt') }}|{{ undefined_var is defined }}|{{ none is none }}|{{ 'x' is string }}|{{ d is mapping }}|{{ xs is iterable }}|{{ 1 is number }}|{{ true is true }}|{{ 0 is false }}",
            "|dflt|False|True|True|True|True|True|True|False"),
        Arguments.of(
            "{{ 'b' in xs }}{{ 'z' not in xs }}{{ 'k' in d }}{{ 'ell' in 'hello' }}",
            "TrueTrueTrueTrue"),
        Arguments.of(
            "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ -7 // 2 }} {{ 'a' ~ 1 ~ none }} {{ 1 if false else 2 }} {{ 1 == 1.0 }} {{ 3 > 2 and 1 < 0 or 'y' }}",
            "7 3 1 3.5 1024 -4 a1None 2 True y"),
        Arguments.of(
            "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }}{{ msgs|rejectattr('role', 'equalto', 'user')|list|length }}",
            "['hi']1"),
        Arguments.of(
            "{{ d.get('k') }}{{ d.get('zz', 'no') }}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys()|list }}{{ d.values()|list }}",
            "vnok=v;n=1;['k', 'n']['v', 1]"),
        Arguments.of(
            "{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x','lo')) }}{{ 'a-b-c'.replace('-', '+') }}{{ 'hello'.find('l') }}{{ 'x{}y{}'.format(1, 'z') }}",
            "TrueTruea+b+c2x1yz"),
        Arguments.of(
            "{{ 42|string }}{{ '42'|int + 1 }}{{ 3.0 }}{{ 1e20 }}{{ 0.0001 }}{{ 1.5e-7 }}{{ [1,'a',none] }}{{ {'a': 'b'} }}",
            "42433.01e+200.00011.5e-07[1, 'a', None]{'a': 'b'}"),
        Arguments.of("{% raw %}{{ not rendered }}{% endraw %}", "{{ not rendered }}"),
        Arguments.of("{# comment #}\n  {# another #}\nafter", "after"),
        Arguments.of(
            "{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M') }}",
            "26 Jul 2024 2024-07-26 09:30"),
        Arguments.of("{% set out %}block {{ 1 }}{% endset %}[{{ out }}]", "[block 1]"),
        Arguments.of(
            "{{ 'line1\nline2'|indent(2) }}|{{ 'line1\nline2'|indent(2, first=True) }}",
            "line1\n  line2|  line1\n  line2"),
        Arguments.of("{{ \"it's\" }}{{ 'tab\\tnl\\\\' }}{{ '\\u00e9' }}", "it'stab\tnl\\\u00e9"),
        Arguments.of(
            "{{ true }}{{ True }}{{ none }}{{ None }}{{ false }}", "TrueTrueNoneNoneFalse"),
        Arguments.of(
            "{{ xs|reverse|list }}{{ [3,1,2]|sort }}{{ xs[5] }}|{{ d.missing }}|{{ d['missing'] is defined }}",
            "['c', 'b', 'a'][1, 2, 3]||False"),
        Arguments.of("{{ xs|tojson(indent=2) }}", "[\n  \"a\",\n  \"b\",\n  \"c\"\n]"),
        Arguments.of(
            "{{ {'a':[1,{'b':[]}]}|tojson(indent=2) }}",
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ]\n}"),
        Arguments.of(
            "{{ undefined_var is iterable }}{{ undefined_var is sequence }}{{ undefined_var is mapping }}{{ undefined_var|length }}{% for x in undefined_var %}never{% endfor %}",
            "TrueTrueFalse0"),
        Arguments.of(
            "{% for x in xs %}{{ loop.previtem|default('^') }}{{ x }}{{ loop.nextitem|default('$') }}{{ loop.cycle('o', 'e') }} {% endfor %}",
            "^abo abce bc$o "),
        Arguments.of(
            "{% for k, v in d|items %}{{ k }}:{{ v }} {% endfor %}{% for k, v in d|dictsort %}{{ k }}{% endfor %}",
            "k:v n:1 kn"),
        Arguments.of(
            "{{ 'ab' * 3 }}{{ [1, 2] + [3] }}{{ 10 - 2.5 }}{{ 2 ** -1 }}{{ -3 % 5 }}{{ 7.5 // 2 }}",
            "ababab[1, 2, 3]7.50.523.0"),
        Arguments.of(
            "{% macro outer(x) %}[{{ inner(x) }}]{% endmacro %}{% macro inner(y, z=2) %}{{ y * z }}{% endmacro %}{{ outer(3) }}",
            "[6]"),
        Arguments.of(
            "{{ 'a b c'.split(' ', 1)[1] }}|{{ '  x  '.rstrip() ~ '|' }}{{ 'abc'.upper().lower() }}{{ 'Hello'[1:-1] }}{{ 'x'.join(['1','2','3']) }}",
            "b c|  x|abcell1x2x3"),
        Arguments.of(
            "{{ messages is defined }}{{ none|default('d') }}{{ ''|default('d', true) }}{{ 0|default(5, boolean=true) }}",
            "FalseNoned5"),
        Arguments.of(
            "{{ 'The Title-case of it'|title }}{{ 'ALL lower'.title() }}{{ '\u00e9clair'|capitalize }}",
            "The Title-Case Of ItAll Lower\u00c9clair"),
        Arguments.of(
            "{%- for m in msgs -%}\n  {{- m.role | upper }}:{{ m['content'] }}\n  {%- if not loop.last %}, {% endif -%}\n{%- endfor %}",
            "USER:hi, ASSISTANT:yo"),
        Arguments.of(
            "{% if xs|length > 2 and 'a' in xs %}yes{% elif false %}no{% else %}else{% endif %}{% if not xs %}empty{% endif %}",
            "yes"),
        Arguments.of(
            "{{ [3, 1, 2]|sort(reverse=true) }}{{ ['b', 'a']|sort|join }}{{ [1, 2, 3]|sum }}{{ [4, 9]|max }}{{ [4, 9]|min }}{{ xs|map('upper')|join }}",
            "[3, 2, 1]ab694ABC"),
        Arguments.of(
            "{{ d|tojson(sort_keys=true) }}{{ {'b': 1, 'a': [true, none]}|tojson(indent=2, sort_keys=true) }}{{ '\u00e9'|tojson(ensure_ascii=true) }}",
            "{\"k\": \"v\", \"n\": 1}{\n  \"a\": [\n    true,\n    null\n  ],\n  \"b\": 1\n}\"\\u00e9\""),
        Arguments.of(
            "{{ 1 == 1 == 1 }}{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 1 < 3 > 2 }}{{ 2 == 2 != 3 }}",
            "TrueTrueFalseTrueTrue"),
        Arguments.of("a {# c #} b\n{#- x -#}\n c", "a  bc"),
        Arguments.of(
            "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1, 'x') %}{{ t[1] }}{{ t|length }}",
            "12x2"),
        Arguments.of("{{ 'x' if true }}|{{ 'y' if false }}|", "x||"),
        Arguments.of(
            "{{ 'abc'.find('z') }}{{ 'a,b'.split(',')|length }}{{ 'aXbXc'.split('X', maxsplit=1) }}{{ 'abcabc'.count('b') }}{{ 'abc'.startswith('ab') }}",
            "-12['a', 'bXc']2True"),
        Arguments.of("{{ '%d items' if xs else 'none' }}", "%d items"),
        Arguments.of("a\r\nb{{ 'x' }}\r\n", "a\nbx"),
        Arguments.of("line\n", "line"),
        Arguments.of("{% if true +%}\nkept newline{% endif %}", "\nkept newline"),
        Arguments.of(
            "{{ (1, 'a') }}{{ (1,) }}{{ d.items()|list }}{{ d|dictsort }}{{ () }}",
            "(1, 'a')(1,)[('k', 'v'), ('n', 1)][('k', 'v'), ('n', 1)]()"),
        Arguments.of(
            "{{ '<a href=\"x\">&\\'</a>'|e }}{{ 'plain'|escape }}",
            "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;plain"),
        Arguments.of("{{ [(1, 2), (3, 4)]|tojson }}", "[[1, 2], [3, 4]]"),
        Arguments.of(
            "{% filter upper %}x{{ 'y' }}{% endfilter %}|{% filter replace('a', 'b') %}aaa{% endfilter %}",
            "XY|bbb"),
        Arguments.of(
            "{{ '%s' % 1 }}|{{ '%s and %s' % ('a', 'b') }}|{{ '%d%%' % 5 }}|{{ 'n=%i' % 3.7 }}|{{ '%s' % none }}",
            "1|a and b|5%|n=3|None"));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void rendersLikeJinja2(String template, String expected) {
    assertEquals(expected, render(template));
  }

  private static TemplateException failure(String template) {
    return assertThrows(TemplateException.class, () -> render(template));
  }

  @Test
  void undefinedFailsWhereJinja2Fails() {
    assertTrue(failure("{{ undefined_var.attr }}").getMessage().contains("'undefined_var'"));
    assertTrue(failure("{{ undefined_var + 1 }}").getMessage().contains("'undefined_var'"));
    assertTrue(failure("{{ undefined_var() }}").getMessage().contains("'undefined_var'"));
    assertTrue(failure("{{ 1 < 'a' }}").getMessage().contains("'<' not supported"));
  }

  @Test
  void raiseExceptionCarriesTheTemplatesMessage() {
    assertEquals("bad role", failure("{{ raise_exception('bad role') }}").getMessage());
    assertEquals(
        "Only user and assistant roles are supported!",
        failure(
                "{% for m in msgs %}{% if m.role == 'assistant' %}"
                    + "{{ raise_exception('Only user and assistant roles are supported!') }}"
                    + "{% endif %}{% endfor %}")
            .getMessage());
  }

  @Test
  void syntaxErrorsNameLineAndColumn() {
    assertTrue(
        failure("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}")
            .getMessage()
            .contains("line 3, column 10"),
        () -> failure("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}").getMessage());
    assertTrue(failure("{% for x in xs %}").getMessage().contains("endfor"));
    assertTrue(failure("ab\n {{ 'open ").getMessage().contains("line 2, column 5"));
    assertTrue(failure("{% frobnicate %}").getMessage().contains("line 1, column 4"));
  }

  @Test
  void runtimeErrorsNameTheirPosition() {
    assertTrue(failure("\n\n  {{ undefined_var.x }}").getMessage().contains("line 3"));
    assertTrue(
        failure("{% if false %}\n{% elif undefined_var.x %}{% endif %}")
            .getMessage()
            .contains("line 2, column 9"));
    assertTrue(failure("{% for x in 5 %}{% endfor %}").getMessage().contains("not iterable"));
  }

  @Test
  void tojsonWithIndent() {
    assertEquals("[\n  \"a\",\n  \"b\",\n  \"c\"\n]", render("{{ xs|tojson(indent=2) }}"));
    assertEquals(
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ]\n}",
        render("{{ {'a':[1,{'b':[]}]}|tojson(indent=2) }}"));
    assertEquals("{\"a\":1}", render("{{ {'a': 1}|tojson(separators=(',', ':')) }}"));
    assertTrue(failure("{{ undefined_var|tojson }}").getMessage().contains("JSON serializable"));
  }

  @Test
  void recursiveMacrosWork() {
    assertEquals(
        "3 2 1 ",
        render(
            "{% macro down(n) %}{% if n > 0 %}{{ n }} {{ down(n - 1) }}{% endif %}{% endmacro %}"
                + "{{ down(3) }}"));
  }

  @Test
  void runawayLoopIsStopped() {
    String t = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
    assertTrue(failure(t).getMessage().contains("loop iterations"));
  }

  @Test
  void hugeOutputIsStopped() {
    assertTrue(failure("{{ 'x' * 20000000 }}").getMessage().contains("exceeds the limit"));
    String doubling =
        "{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(40) %}"
            + "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}";
    assertTrue(failure(doubling).getMessage().contains("too much text"));
  }

  @Test
  void deepRecursionIsStopped() {
    String t = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    assertTrue(failure(t).getMessage().contains("macro calls nested deeper than 100"));
    String parens = "{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}";
    assertTrue(failure(parens).getMessage().contains("nesting deeper than"));
  }

  @Test
  void circularNamespaceCannotHang() {
    String t = "{% set ns = namespace(x=1) %}{% set ns.x = [ns] %}{{ ns.x|tojson }}";
    assertThrows(TemplateException.class, () -> render(t));
  }

  @Test
  void exponentiallySharedValuesCannotHang() {
    String build =
        "{% set ns = namespace(x=[1], y=[1]) %}{% for i in range(60) %}"
            + "{% set ns.x = [ns.x, ns.x] %}{% set ns.y = [ns.y, ns.y] %}{% endfor %}";
    assertTrue(failure(build + "{{ ns.x == ns.y }}").getMessage().contains("comparison visits"));
    assertTrue(failure(build + "{{ ns.x }}").getMessage().contains("longer than"));
    assertTrue(failure(build + "{{ ns.x|tojson }}").getMessage().contains("too much text"));
    assertTrue(failure("{{ {[1]: 2} }}").getMessage().contains("unhashable type: 'list'"));
  }

  @Test
  void noJavaObjectsAreReachable() {
    assertEquals("", render("{{ xs.getClass }}{{ s.__class__ }}{{ d.__init__ }}"));
    assertTrue(failure("{{ s.getClass() }}").getMessage().contains("undefined"));
    assertTrue(failure("{{ (1).real() }}").getMessage().contains("undefined"));
    assertTrue(failure("{{ ''.__class__.__mro__ }}").getMessage().contains("undefined"));
  }

  @Test
  void unsupportedFeaturesFailLoudly() {
    assertTrue(failure("{% call foo() %}x{% endcall %}").getMessage().contains("'call'"));
    assertTrue(failure("{% include 'x' %}").getMessage().contains("'include'"));
    assertTrue(failure("{{ '%5.2f' % 1.0 }}").getMessage().contains("%5"));
    assertTrue(failure("{{ '{:>3}'.format(1) }}").getMessage().contains("format specs"));
    assertTrue(failure("{{ xs|batch(2) }}").getMessage().contains("batch"));
    assertTrue(
        failure("{{ xs|nosuchfilter }}").getMessage().contains("unknown filter 'nosuchfilter'"));
  }

  @Test
  void rangeIsBounded() {
    assertTrue(failure("{{ range(1000000000)|length }}").getMessage().contains("range"));
  }
}
