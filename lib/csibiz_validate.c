
/*
 * Validators, normalizers and masks for the portal's form fields; see
 * csibiz_validate.h for what each accepts.
 */


#include <string.h>

#include "csibiz_validate.h"


#define CSIBIZ_IS_DIGIT(c)  ((c) >= '0' && (c) <= '9')
#define CSIBIZ_IS_UPPER(c)  ((c) >= 'A' && (c) <= 'Z')
#define CSIBIZ_IS_LOWER(c)  ((c) >= 'a' && (c) <= 'z')


static int csibiz_is_leap_year(int year);
static int csibiz_days_in_month(int year, int month);
static int csibiz_digits_value(const char *s, size_t len);
static int csibiz_all_digits(const char *s, size_t len);
static int csibiz_id_province_valid(int code);
static size_t csibiz_skip_chars(const char *s, size_t len, size_t chars);
static long long csibiz_days_from_civil(int year, int month, int day);
static int csibiz_alnum_normalize(const char *in, size_t len, size_t min,
    size_t max, char *out);


int
csibiz_date_valid(const csibiz_date_t *date)
{
    return date->year >= 1 && date->year <= 9999
           && date->month >= 1 && date->month <= 12
           && date->day >= 1
           && date->day <= csibiz_days_in_month(date->year, date->month);
}


int
csibiz_date_compare(const csibiz_date_t *a, const csibiz_date_t *b)
{
    if (a->year != b->year) {
        return a->year < b->year ? -1 : 1;
    }

    if (a->month != b->month) {
        return a->month < b->month ? -1 : 1;
    }

    if (a->day != b->day) {
        return a->day < b->day ? -1 : 1;
    }

    return 0;
}


/*
 * Days since the epoch to a civil date: Howard Hinnant's civil_from_days,
 * which counts in 400-year eras of 146097 days starting on
 * 1 March so that the leap day ends the year.
 */

int
csibiz_date_from_unix(long long seconds, long utc_offset,
    csibiz_date_t *date)
{
    long long  days, era, day_of_era, year_of_era, day_of_year, mp, year;

    /* years 1 to 9999 are about +-2.5e11 s: refuse more before adding */
    if (seconds < -70000000000LL || seconds > 260000000000LL
        || utc_offset < -86400 || utc_offset > 86400)
    {
        return -1;
    }

    seconds += utc_offset;

    /* floor division: days before the epoch round down too */
    days = seconds / 86400;
    if (seconds % 86400 < 0) {
        days--;
    }

    days += 719468;                 /* from 0000-03-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    day_of_era = days - era * 146097;
    year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524
                   - day_of_era / 146096) / 365;
    day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4
                                - year_of_era / 100);
    mp = (5 * day_of_year + 2) / 153;
    year = year_of_era + era * 400;

    date->day = (int) (day_of_year - (153 * mp + 2) / 5 + 1);
    date->month = (int) (mp < 10 ? mp + 3 : mp - 9);
    date->year = (int) (date->month <= 2 ? year + 1 : year);

    if (date->year < 1 || date->year > 9999) {
        return -1;
    }

    return 0;
}


/*
 * Fixed positions first ("YYYY-MM-DD HH:MM"), then optional seconds, a
 * fraction (ignored), and the offset, whose minutes may follow a colon.
 */

int
csibiz_date_in_china(const char *s, size_t len, csibiz_date_t *day)
{
    int            hour, minute, second, off, sign;
    size_t         i;
    long long      t;
    csibiz_date_t  d;

    static const char  form[] = "dddd-dd-dd dd:dd";

    if (len < sizeof(form) - 1) {
        return -1;
    }

    for (i = 0; i < sizeof(form) - 1; i++) {
        if (form[i] == 'd' ? !CSIBIZ_IS_DIGIT(s[i]) : s[i] != form[i]) {
            return -1;
        }
    }

    d.year = csibiz_digits_value(s, 4);
    d.month = csibiz_digits_value(s + 5, 2);
    d.day = csibiz_digits_value(s + 8, 2);
    hour = csibiz_digits_value(s + 11, 2);
    minute = csibiz_digits_value(s + 14, 2);
    second = 0;

    if (i + 3 <= len && s[i] == ':' && csibiz_all_digits(s + i + 1, 2)) {
        second = csibiz_digits_value(s + i + 1, 2);
        i += 3;

        if (i < len && s[i] == '.') {
            do {
                i++;
            } while (i < len && CSIBIZ_IS_DIGIT(s[i]));
        }
    }

    if (!csibiz_date_valid(&d) || hour > 23 || minute > 59 || second > 60) {
        return -1;
    }

    if (i < len && s[i] == ' ') {
        i++;
    }

    off = 8 * 60;

    if (i < len) {
        if ((s[i] != '+' && s[i] != '-') || i + 3 > len
            || !csibiz_all_digits(s + i + 1, 2))
        {
            return -1;
        }

        sign = s[i] == '-' ? -1 : 1;
        off = csibiz_digits_value(s + i + 1, 2) * 60;
        i += 3;

        if (i < len && s[i] == ':') {
            i++;
        }

        if (i + 2 == len && csibiz_all_digits(s + i, 2)) {
            off += csibiz_digits_value(s + i, 2);
            i += 2;
        }

        if (i != len || off > 15 * 60) {
            return -1;
        }

        off *= sign;
    }

    t = csibiz_days_from_civil(d.year, d.month, d.day) * 86400
        + hour * 3600 + minute * 60 + second - off * 60;

    return csibiz_date_from_unix(t, 8 * 3600, day);
}


int
csibiz_age_on(const csibiz_date_t *birth, const csibiz_date_t *day)
{
    int  age;

    if (csibiz_date_compare(day, birth) < 0) {
        return -1;
    }

    age = day->year - birth->year;

    if (day->month < birth->month
        || (day->month == birth->month && day->day < birth->day))
    {
        age--;
    }

    return age;
}


csibiz_id_rc_t
csibiz_id_number_check(const char *s, size_t len, csibiz_date_t *birth,
    const csibiz_date_t *today)
{
    /* GB 11643-1999: weight of position i is 2^(17 - i) mod 11 */
    static const int   weights[17] = {
        7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
    };
    static const char  check_chars[] = "10X98765432";

    int            sum;
    char           check;
    size_t         i;
    csibiz_date_t  date;

    if (len != CSIBIZ_ID_NUMBER_LEN) {
        return CSIBIZ_ID_LENGTH;
    }

    if (!csibiz_all_digits(s, 17)
        || !(CSIBIZ_IS_DIGIT(s[17]) || s[17] == 'X' || s[17] == 'x'))
    {
        return CSIBIZ_ID_CHARSET;
    }

    if (!csibiz_id_province_valid(csibiz_digits_value(s, 2))) {
        return CSIBIZ_ID_PROVINCE;
    }

    date.year = csibiz_digits_value(s + 6, 4);
    date.month = csibiz_digits_value(s + 10, 2);
    date.day = csibiz_digits_value(s + 12, 2);

    if (date.year < 1900
        || !csibiz_date_valid(&date)
        || csibiz_date_compare(&date, today) > 0)
    {
        return CSIBIZ_ID_BIRTH_DATE;
    }

    sum = 0;

    for (i = 0; i < 17; i++) {
        sum += (s[i] - '0') * weights[i];
    }

    check = (s[17] == 'x') ? 'X' : s[17];

    if (check != check_chars[sum % 11]) {
        return CSIBIZ_ID_CHECKSUM;
    }

    if (birth != NULL) {
        *birth = date;
    }

    return CSIBIZ_ID_OK;
}


const char *
csibiz_id_rc_name(csibiz_id_rc_t rc)
{
    switch (rc) {

    case CSIBIZ_ID_OK:
        return "ok";

    case CSIBIZ_ID_LENGTH:
        return "length";

    case CSIBIZ_ID_CHARSET:
        return "charset";

    case CSIBIZ_ID_PROVINCE:
        return "province";

    case CSIBIZ_ID_BIRTH_DATE:
        return "birth_date";

    case CSIBIZ_ID_CHECKSUM:
        return "checksum";
    }

    return "unknown";
}


int
csibiz_id_number_normalize(const char *s, size_t len, char *out)
{
    size_t  i;

    if (len != CSIBIZ_ID_NUMBER_LEN) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        out[i] = (s[i] == 'x') ? 'X' : s[i];
    }

    out[len] = '\0';

    return 0;
}


int
csibiz_id_number_gender(const char *s, size_t len)
{
    if (len != CSIBIZ_ID_NUMBER_LEN || !CSIBIZ_IS_DIGIT(s[16])) {
        return -1;
    }

    return ((s[16] - '0') % 2 == 1) ? CSIBIZ_GENDER_MALE
                                    : CSIBIZ_GENDER_FEMALE;
}


int
csibiz_phone_normalize(const char *in, size_t len, char *out)
{
    csibiz_utf8_trim(&in, &len);

    if (len > 3 && in[0] == '+' && in[1] == '8' && in[2] == '6') {
        in += 3;
        len -= 3;

    } else if (len > 4
               && in[0] == '0' && in[1] == '0' && in[2] == '8'
               && in[3] == '6')
    {
        in += 4;
        len -= 4;
    }

    if (!csibiz_phone_valid(in, len)) {
        return -1;
    }

    memcpy(out, in, len);
    out[len] = '\0';

    return 0;
}


int
csibiz_phone_valid(const char *s, size_t len)
{
    return len == CSIBIZ_PHONE_LEN
           && csibiz_all_digits(s, len)
           && s[0] == '1' && s[1] >= '3';
}


/* trimmed, min to max ASCII letters or digits, upper-cased into out */

static int
csibiz_alnum_normalize(const char *in, size_t len, size_t min, size_t max,
    char *out)
{
    size_t  i;

    csibiz_utf8_trim(&in, &len);

    if (len < min || len > max) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (CSIBIZ_IS_LOWER(in[i])) {
            out[i] = (char) (in[i] - 'a' + 'A');

        } else if (CSIBIZ_IS_DIGIT(in[i]) || CSIBIZ_IS_UPPER(in[i])) {
            out[i] = in[i];

        } else {
            return -1;
        }
    }

    out[len] = '\0';

    return 0;
}


int
csibiz_social_card_normalize(const char *in, size_t len, char *out)
{
    return csibiz_alnum_normalize(in, len, CSIBIZ_SOCIAL_CARD_LEN,
                                  CSIBIZ_SOCIAL_CARD_LEN, out);
}


int
csibiz_handbook_no_normalize(const char *in, size_t len, char *out)
{
    return csibiz_alnum_normalize(in, len, CSIBIZ_HANDBOOK_NO_MIN_LEN,
                                  CSIBIZ_HANDBOOK_NO_MAX_LEN, out);
}


int
csibiz_insurance_no_normalize(const char *in, size_t len, char *out)
{
    if (csibiz_social_card_normalize(in, len, out) == 0
        || csibiz_handbook_no_normalize(in, len, out) == 0)
    {
        return 0;
    }

    return -1;
}


int
csibiz_social_card_valid(const char *s, size_t len)
{
    size_t  i;

    if (len != CSIBIZ_SOCIAL_CARD_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!CSIBIZ_IS_DIGIT(s[i]) && !CSIBIZ_IS_UPPER(s[i])) {
            return 0;
        }
    }

    return 1;
}


int
csibiz_postcode_valid(const char *s, size_t len)
{
    return len == CSIBIZ_POSTCODE_LEN && csibiz_all_digits(s, len);
}


int
csibiz_luhn_valid(const char *digits, size_t len)
{
    int     sum, d;
    size_t  i;

    if (len == 0 || !csibiz_all_digits(digits, len)) {
        return 0;
    }

    sum = 0;

    /* from the right, every second digit is doubled, digits summed */
    for (i = 0; i < len; i++) {
        d = digits[len - 1 - i] - '0';

        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }

        sum += d;
    }

    return sum % 10 == 0;
}


int
csibiz_bank_card_valid(const char *s, size_t len)
{
    return len >= CSIBIZ_BANK_CARD_MIN_LEN
           && len <= CSIBIZ_BANK_CARD_MAX_LEN
           && csibiz_luhn_valid(s, len);
}


int
csibiz_bank_card_normalize(const char *in, size_t len, char *out)
{
    size_t  i, n;

    csibiz_utf8_trim(&in, &len);

    n = 0;

    for (i = 0; i < len; i++) {

        if (CSIBIZ_IS_DIGIT(in[i])) {
            if (n == CSIBIZ_BANK_CARD_MAX_LEN) {
                return -1;
            }

            out[n++] = in[i];
            continue;
        }

        /* a single separator, between two digits */
        if ((in[i] == ' ' || in[i] == '-')
            && i > 0 && CSIBIZ_IS_DIGIT(in[i - 1])
            && i + 1 < len && CSIBIZ_IS_DIGIT(in[i + 1]))
        {
            continue;
        }

        return -1;
    }

    if (!csibiz_bank_card_valid(out, n)) {
        return -1;
    }

    out[n] = '\0';

    return 0;
}


int
csibiz_mask(const char *in, size_t len, size_t keep_head, size_t keep_tail,
    char *out, size_t out_size)
{
    size_t  chars, head_bytes, tail_start, masked, need;

    if (csibiz_utf8_count(in, len, &chars) != 0) {
        return -1;
    }

    if (chars == 0) {
        if (out_size == 0) {
            return -1;
        }

        out[0] = '\0';
        return 0;
    }

    if (keep_head >= chars) {
        keep_head = chars - 1;
    }

    if (keep_tail > chars - 1 - keep_head) {
        keep_tail = chars - 1 - keep_head;
    }

    masked = chars - keep_head - keep_tail;
    head_bytes = csibiz_skip_chars(in, len, keep_head);
    tail_start = csibiz_skip_chars(in, len, keep_head + masked);
    need = head_bytes + masked + (len - tail_start);

    if (out_size < need + 1) {
        return -1;
    }

    memcpy(out, in, head_bytes);
    memset(out + head_bytes, '*', masked);
    memcpy(out + head_bytes + masked, in + tail_start, len - tail_start);
    out[need] = '\0';

    return 0;
}


int
csibiz_mask_name(const char *in, size_t len, char *out, size_t out_size)
{
    return csibiz_mask(in, len, 1, 1, out, out_size);
}


int
csibiz_mask_id_number(const char *in, size_t len, char *out,
    size_t out_size)
{
    return csibiz_mask(in, len, 3, 4, out, out_size);
}


int
csibiz_mask_phone(const char *in, size_t len, char *out, size_t out_size)
{
    return csibiz_mask(in, len, 3, 4, out, out_size);
}


static int
csibiz_is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}


/* Howard Hinnant's days_from_civil: days since 1970-01-01 */

static long long
csibiz_days_from_civil(int year, int month, int day)
{
    long long  y, era, year_of_era, day_of_year, day_of_era;

    y = month <= 2 ? year - 1 : year;
    era = (y >= 0 ? y : y - 399) / 400;
    year_of_era = y - era * 400;
    day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5
                  + day - 1;
    day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100
                 + day_of_year;

    return era * 146097 + day_of_era - 719468;
}


static int
csibiz_days_in_month(int year, int month)
{
    static const int  days[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (month == 2 && csibiz_is_leap_year(year)) {
        return 29;
    }

    return days[month - 1];
}


/* the value of len (at most 9) ASCII digits, checked by the caller */

static int
csibiz_digits_value(const char *s, size_t len)
{
    int     value;
    size_t  i;

    value = 0;

    for (i = 0; i < len; i++) {
        value = value * 10 + (s[i] - '0');
    }

    return value;
}


static int
csibiz_all_digits(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!CSIBIZ_IS_DIGIT(s[i])) {
            return 0;
        }
    }

    return 1;
}


/*
 * GB/T 2260 provincial codes, plus 71 (Taiwan, listed by GB/T 2260 though
 * no IDs are issued there), 81 and 82 (residence permits of Hong Kong and
 * Macau residents) and 83 (those of Taiwan residents).
 */

static int
csibiz_id_province_valid(int code)
{
    return (code >= 11 && code <= 15)
           || (code >= 21 && code <= 23)
           || (code >= 31 && code <= 37)
           || (code >= 41 && code <= 46)
           || (code >= 50 && code <= 54)
           || (code >= 61 && code <= 65)
           || code == 71
           || code == 81 || code == 82 || code == 83;
}


/* the byte length of the first chars characters of valid UTF-8 s */

static size_t
csibiz_skip_chars(const char *s, size_t len, size_t chars)
{
    size_t    i, n;
    uint32_t  cp;

    for (i = 0; chars > 0 && i < len; i += n, chars--) {
        n = csibiz_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            break;
        }
    }

    return i;
}
