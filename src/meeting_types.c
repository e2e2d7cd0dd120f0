#include "meeting_types.h"

#include <string.h>

#include "util.h"

/* Keep this the only list of codes: validation, the API's /api/meeting-types,
 * calendars and the Meeting Guide feed all read it. */
static const struct meeting_type types[] = {
    /* Who may attend. */
    {"O", "Open"},
    {"C", "Closed"},
    /* Format. */
    {"D", "Discussion"},
    {"SP", "Speaker"},
    {"BE", "Newcomer"},
    {"ST", "Step Study"},
    {"TR", "Tradition Study"},
    {"LIT", "Literature"},
    {"MED", "Meditation"},
    {"11", "11th Step Meditation"},
    {"H", "Birthday"},
    {"CAN", "Candlelight"},
    {"XT", "Cross Talk Permitted"},
    {"POA", "Proof of Attendance"},
    {"DB", "Digital Basket"},
    /* Narcotics Anonymous literature and formats. */
    {"BT", "Basic Text"},
    {"JFT", "Just for Today"},
    {"IW", "It Works: How and Why"},
    {"SPAD", "A Spiritual Principle a Day"},
    {"STEP", "Step Meeting"},
    {"TOP", "Topic"},
    {"QA", "Questions and Answers"},
    /* Communities. */
    {"A", "Secular"},
    {"M", "Men"},
    {"W", "Women"},
    {"Y", "Young People"},
    {"SEN", "Seniors"},
    {"LGBTQ", "LGBTQ"},
    {"G", "Gay"},
    {"L", "Lesbian"},
    {"BI", "Bisexual"},
    {"T", "Transgender"},
    {"NB", "Non-Binary"},
    {"POC", "People of Color"},
    {"N", "Native American"},
    {"NDG", "Indigenous"},
    {"P", "Professionals"},
    {"DD", "Dual Diagnosis"},
    /* Accessibility. */
    {"ASL", "American Sign Language"},
    /* Languages. */
    {"EN", "English"},
    {"S", "Spanish"},
    {"FR", "French"},
    {"DE", "German"},
    {"ITA", "Italian"},
    {"POR", "Portuguese"},
    {"POL", "Polish"},
    {"RUS", "Russian"},
    {"UK", "Ukrainian"},
    {"JA", "Japanese"},
    {"KOR", "Korean"},
    {"HI", "Hindi"},
    {"FA", "Persian"},
    {"HE", "Hebrew"},
    {"EL", "Greek"},
    {"DA", "Danish"},
    {"NO", "Norwegian"},
    {"SV", "Swedish"},
    {"HU", "Hungarian"},
    {"HR", "Croatian"},
    {"SK", "Slovak"},
    {"LT", "Lithuanian"},
    {"TH", "Thai"},
    {"TL", "Tagalog"},
    {"AM", "Amharic"},
    {"ML", "Malayalam"},
    {"PUN", "Punjabi"},
};

const char *meeting_types_name(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < HV_ARRAY_LEN(types); i++)
        if (strcmp(types[i].code, code) == 0)
            return types[i].name;
    return NULL;
}

const struct meeting_type *meeting_types_all(size_t *n)
{
    *n = HV_ARRAY_LEN(types);
    return types;
}
